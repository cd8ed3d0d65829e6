"""Who is calling, and over which part of the tenant tree: travels with every RPC."""
from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from shared.divisions import county_of, is_under
from shared.errors import Forbidden


class Role(StrEnum):
    VILLAGE_AGENT = "village_agent"  # 代办员
    VILLAGE_COMMITTEE = "village_committee"  # 村两委
    GRADUATE_OFFICIAL = "graduate_official"  # 大学生村官
    TOWNSHIP_CADRE = "township_cadre"  # 乡镇干部
    DEPARTMENT_STAFF = "department_staff"  # 站所工作人员
    SUPERVISOR = "supervisor"  # 政务服务中心 / 领导小组办公室
    COUNTY_ADMIN = "county_admin"  # 县信息中心, over one county
    SYSTEM_ADMIN = "system_admin"  # 系统管理员: runs the installation, over every county
    STATION_CLIENT = "station_client"  # a machine at a village station, signed in with the station's API key
    PUBLIC = "public"  # an unauthenticated villager, or the gateway acting for one
    SYSTEM = "system"  # the platform itself (demo seeding, migrations)


class Scope(StrEnum):
    """How much of the tenant tree a caller acts over for one action (shared/contracts/access.py)."""

    PUBLIC = "P"
    STATION = "S"
    TOWNSHIP = "T"
    COUNTY = "C"  # every township of the caller's own county
    ALL = "A"  # every county of the installation


COUNTY_ROLES = frozenset({Role.COUNTY_ADMIN, Role.SYSTEM_ADMIN, Role.SYSTEM})  # above any one township
INSTALLATION_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.SYSTEM})  # above any one county
STATION_ROLES = frozenset({Role.VILLAGE_AGENT, Role.VILLAGE_COMMITTEE, Role.GRADUATE_OFFICIAL})  # at a village station


class Caller(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    staff_id: int | None = None
    username: str | None = None
    role: Role
    township_code: str | None = None
    station_code: str | None = None
    county_code: str | None = None  # a county admin's county; others' is read from their township
    correlation_id: str | None = None
    scope: Scope | None = None  # granted per action by the access matrix; never sent over the wire

    @classmethod
    def public(cls, correlation_id: str | None = None) -> Caller:
        return cls(role=Role.PUBLIC, correlation_id=correlation_id)

    @classmethod
    def system(cls) -> Caller:
        return cls(role=Role.SYSTEM, username="system")

    @property
    def is_county(self) -> bool:
        return self.role in COUNTY_ROLES

    @property
    def is_installation(self) -> bool:
        """The system administrator (or the platform itself): every county."""
        return self.role in INSTALLATION_ROLES

    @property
    def county(self) -> str | None:
        """The county this caller belongs to: a county admin's own, else its township's; None for the
        system administrator and the public."""
        if self.county_code is not None:
            return self.county_code
        return county_of(self.township_code) if self.township_code else None

    @property
    def reach(self) -> Scope:
        if self.scope is not None and self.scope is not Scope.PUBLIC:
            return self.scope
        if self.is_installation:
            return Scope.ALL
        return Scope.COUNTY if self.is_county else Scope.TOWNSHIP

    def sees_county(self, county_code: str) -> bool:
        if self.reach is Scope.ALL:
            return True
        return self.county is not None and self.county == county_code

    def sees_township(self, township_code: str) -> bool:
        if self.reach is Scope.ALL:
            return True
        if self.reach is Scope.COUNTY:
            return self.county is not None and is_under(township_code, self.county)
        return self.township_code is not None and self.township_code == township_code

    def sees_station(self, township_code: str, station_code: str | None) -> bool:
        """A record of a township (and maybe of one of its stations): does this caller's scope cover it?"""
        if self.reach is Scope.STATION:
            return self.sees_township(township_code) and station_code is not None and station_code == self.station_code
        return self.sees_township(township_code)

    def township_filter(self) -> str | None:
        """The caller's own township when its scope is one township (or station); None when it spans a
        county or more, whose filter is the county's range of codes (shared/db.py within_scope)."""
        return None if self.reach in (Scope.COUNTY, Scope.ALL) else self.township_code

    def county_filter(self) -> str | None:
        """The caller's county when its scope is one county; None for the whole installation or less than
        a county (then township_filter applies)."""
        return self.county if self.reach is Scope.COUNTY else None

    def station_of_new_record(self, named: str | None) -> str | None:
        """The station a record this caller files is kept at: the one it names, else its own. A caller
        whose scope for the action is one station (a station key) files at that station only: naming
        another is refused, never quietly moved."""
        if self.reach is Scope.STATION:
            if named is not None and named != self.station_code:
                raise Forbidden("a station key files at its own station only",
                                [{"field": "station_code", "message": f"not this key's station {self.station_code}"}],
                                code="outside_station")
            return self.station_code
        return named or self.station_code

    def station_filter(self) -> str | None:
        """The caller's own station when its scope for this action is one station, else None."""
        return self.station_code if self.reach is Scope.STATION else None

    def require_role(self, *roles: Role) -> None:
        if self.role not in roles and self.role is not Role.SYSTEM:
            raise Forbidden(f"role {self.role.value} may not do this", {"allowed": [r.value for r in roles]})
