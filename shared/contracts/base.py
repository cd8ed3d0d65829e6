"""The base of every contract and the one way to parse a payload into one."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from shared.errors import ValidationFailed
from shared.pii import is_mobile

C = TypeVar("C", bound=BaseModel)


# how far a list may be paged by offset: deeper is refused, never handed to the database (which would overflow)
Offset = Annotated[int, Field(ge=0, le=100_000)]


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


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


Mobile = Annotated[str, AfterValidator(_mobile)]  # a villager's mobile number (personal data)


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
