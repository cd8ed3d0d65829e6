"""Parameters written as the schema says: a query or path parameter the OpenAPI document calls an integer is
digits (not `0.0`, `1e3` or ` 5`), one it calls a date is `YYYY-MM-DD` and a date-time starts with one (not a
Unix time such as `0`). pydantic's lax parsing would take those and answer as if the request were valid;
checked once here for every route, before the route's own validation (422 `validation_failed`)."""
from __future__ import annotations

import re
import types
from datetime import date, datetime
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

_WRITTEN = {int: re.compile(r"^-?\d{1,19}$"), date: re.compile(r"^\d{4}-\d{2}-\d{2}$"),
            datetime: re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")}
_AS = {int: "an integer, written in digits", date: "a date, written YYYY-MM-DD",
       datetime: "a date-time, written YYYY-MM-DDTHH:MM[:SS][zone]"}


def _kind(annotation: Any) -> type | None:
    """int, date or datetime when the annotation is one of them (or an optional one); otherwise None."""
    if get_origin(annotation) is Annotated:
        return _kind(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        kinds = {_kind(arg) for arg in get_args(annotation) if arg is not type(None)}
        return kinds.pop() if len(kinds) == 1 else None
    return annotation if annotation in _WRITTEN else None  # (bool is not int here: `in` compares exactly)


def _declared(dependant: Any) -> list[tuple[str, str, type]]:
    """(where, name, kind) of every int, date and date-time parameter of a route and its dependencies."""
    found: list[tuple[str, str, type]] = []
    pending = [dependant]
    while pending:
        current = pending.pop()
        pending.extend(current.dependencies)
        for where, fields in (("path", current.path_params), ("query", current.query_params)):
            for field in fields:
                annotation = field.field_info.annotation
                if isinstance(annotation, type) and issubclass(annotation, BaseModel):  # a query model
                    found += [(where, f.alias or name, kind) for name, f in annotation.model_fields.items()
                              if (kind := _kind(f.annotation)) is not None]
                elif (kind := _kind(annotation)) is not None:
                    found.append((where, field.alias, kind))
    return found


_CACHE: dict[int, list[tuple[str, str, type]]] = {}


async def written_as_declared(request: Request) -> None:
    """An app-wide dependency: refuse an int, date or date-time parameter not written as one."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    declared = _CACHE.get(id(route))
    if declared is None:
        declared = _CACHE[id(route)] = _declared(dependant)
    errors = []
    for where, name, kind in declared:
        values = request.query_params.getlist(name) if where == "query" else [request.path_params.get(name)]
        for value in values:
            if isinstance(value, str) and not _WRITTEN[kind].match(value):
                errors.append({"type": f"{kind.__name__}_parsing", "loc": (where, name), "input": value,
                               "msg": f"should be {_AS[kind]}"})
    if errors:
        raise RequestValidationError(errors)
