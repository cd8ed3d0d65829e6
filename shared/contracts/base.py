"""The base of every contract and the one way to parse a payload into one."""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from shared.errors import ValidationFailed
from shared.pii import is_mobile

C = TypeVar("C", bound=BaseModel)


# how far a list may be paged by offset: deeper is refused, never handed to the database (which would overflow)
Offset = Annotated[int, Field(ge=0, le=100_000)]

# Every integer a contract accepts is bounded, so none reaches the database as an overflow (a 500):
MAX_INT = 2**31 - 1  # the database's INTEGER, which record ids, counts and versions are kept in
Id = Annotated[int, Field(ge=1, le=MAX_INT)]  # a record's id (staff member, slot, campaign, series, key…)
BigId = Annotated[int, Field(ge=1, le=2**63 - 1)]  # an id kept as BIGINT (dead letters, the audit log's seq)

# Control characters (C0, DEL, C1) other than tab and newline, and unpaired surrogates: PostgreSQL refuses
# a 0-byte and no text with an unpaired surrogate can be encoded, while SQLite would store both; every text
# a contract accepts refuses them the same way on either database (422 naming the field).
_UNWANTED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_text(value: str) -> str:
    bad = _UNWANTED.search(value)
    if bad is not None:
        raise ValueError(f"control characters other than tab and newline are not allowed "
                         f"(U+{ord(bad.group()):04X} at position {bad.start()})")
    return value


class _CleanText:
    """The check, and the schema saying so: a `pattern` without those characters (unpaired surrogates are not
    in it: a regular expression over UTF-16 cannot tell them from the halves of a pair)."""

    func = staticmethod(clean_text)
    pattern = "^[^\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f]*$"

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(clean_text, handler(source))

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        described = handler(schema)
        described.setdefault("pattern", self.pattern)
        return described


CleanText = _CleanText()  # in an Annotated[str, …] of every free text a contract accepts
CleanStr = Annotated[str, CleanText]


class Contract(BaseModel):
    """What is sent to a service or the gateway: a field it does not know is refused (a typo is an error)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class View(Contract):
    """What a service answers, as the gateway reads it and answers it on (its routes' response models):
    read tolerantly. During a rolling update the previous release's gateway reads the new release's answers,
    and a field the new release added is left out of its answer instead of failing it (a 500). The new
    gateway reads the previous release's answers too, so a field added to a view has a default, and none is
    removed or changed in the release that stops using it (docs/OPERATIONS.md, "Answers expand too")."""

    model_config = ConfigDict(extra="ignore")


def _null_only_where_clearable(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """The schema of a Changes says what it accepts: null only on the fields that may be cleared."""
    clearable = getattr(model, "CLEARABLE", frozenset())
    for name, prop in schema.get("properties", {}).items():
        if name in clearable or "anyOf" not in prop:
            continue
        kept = [option for option in prop["anyOf"] if option != {"type": "null"}]
        prop.pop("default", None)
        if len(kept) == 1:
            del prop["anyOf"]
            prop.update(kept[0])
        else:
            prop["anyOf"] = kept


class Changes(Contract):
    """A PATCH, the same rule for every record: a field left out keeps its value; an explicit null clears a
    field that may be empty (those in CLEARABLE) and is refused on any other (422 naming the field)."""

    model_config = ConfigDict(json_schema_extra=_null_only_where_clearable)
    CLEARABLE: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _null_clears_only_what_may_be_empty(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.CLEARABLE:
            raise PydanticCustomError("null_not_allowed",
                                      "cannot be null: leave the field out to keep its value")
        return value


IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9_.:-]{8,128}$"
IdempotencyKey = Annotated[str, StringConstraints(pattern=IDEMPOTENCY_KEY_PATTERN)]


class IdempotencyQuery(Contract):
    """The Idempotency-Key a retry-safe creation carries (shared/idempotency.py)."""

    idempotency_key: IdempotencyKey | None = None


def _mobile(value: str) -> str:
    value = value.strip()
    if not is_mobile(value):
        raise ValueError("not a mainland mobile number (11 digits starting 13–19)")
    return value


Mobile = Annotated[str, CleanText, AfterValidator(_mobile)]  # a villager's mobile number (personal data)


def field_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """pydantic's error list as the details of a validation_failed error: field, message, type."""
    return [{"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"], "type": err["type"]}
            for err in errors]


def to_wire(value: BaseModel | list[BaseModel] | dict[str, BaseModel] | None) -> Any:
    """A contract (or a list or mapping of them) as the JSON-ready data an RPC returns."""
    if isinstance(value, list):
        return [v.model_dump(mode="json") for v in value]
    if isinstance(value, dict):
        return {k: v.model_dump(mode="json") for k, v in value.items()}
    return value.model_dump(mode="json") if value is not None else None


def parse(model: type[C], payload: Any) -> C:
    """Validate a wire payload; bad input becomes ValidationFailed with per-field details."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        raise ValidationFailed(f"invalid {model.__name__}", field_errors(errors)) from None
