"""National administrative division codes (行政区划代码): how the tenant tree's codes nest.

A county (县级) has a 6-digit code, a township (乡级) the 9 digits that start with its county's, a village
(村级) the 12 that start with its township's. The county of any record is therefore read from its township
code, which every tenant-owned row already carries: no service needs a county column to scope by county,
and a county's townships are one contiguous range of codes (an index on township_code serves it).
"""
from __future__ import annotations

import re

COUNTY_CODE = re.compile(r"[0-9]{6}")
COUNTY_DIGITS = 6


def county_of(township_code: str) -> str:
    """The county a township (or village, or receipt number starting with one) belongs to."""
    if not COUNTY_CODE.fullmatch(township_code[:COUNTY_DIGITS]):
        raise ValueError(f"{township_code!r} does not start with a county code")
    return township_code[:COUNTY_DIGITS]


def is_under(township_code: str, county_code: str) -> bool:
    """Does this township (or village) code lie under the county? Codes nest by prefix."""
    return COUNTY_CODE.fullmatch(county_code) is not None and township_code.startswith(county_code)


def township_range(county_code: str) -> tuple[str, str]:
    """The first and last possible 9-digit township code of a county, for a range query on township_code.
    Only digits compare here, so every collation orders them alike."""
    if not COUNTY_CODE.fullmatch(county_code):
        raise ValueError(f"{county_code!r} is not a county code")
    return county_code + "000", county_code + "999"
