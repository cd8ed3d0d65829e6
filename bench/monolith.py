"""The peer a county would pick instead of cunban: one plain FastAPI + SQLAlchemy process filing
applications straight into its database — the same request contract, the same access check, the same
filing code (intake's handler: validation against the catalogue, receipt number, encrypted personal data,
stages, Idempotency-Key) on the same PostgreSQL, but no broker, no RPC, no separate services.

Not part of cunban: bench/market_day.py starts it beside the system to measure what the architecture costs.
Usage: CUNBAN_BENCH_MONOLITH_DB=postgresql+psycopg://… .venv/bin/python bench/monolith.py PORT
"""
from __future__ import annotations

import os
import sys
from typing import Annotated

import jwt
import uvicorn
from fastapi import Body, FastAPI, Header, HTTPException

from services.intake.adapters.orm import Base
from services.intake.service_layer import filing
from shared.clock import utcnow
from shared.contracts import access
from shared.contracts import intake as c
from shared.contracts.caller import Caller, Role
from shared.db import ServiceDatabase
from shared.errors import CunbanError
from shared.pii import PersonalDataVault
from shared.settings import get_settings

settings = get_settings()
database = ServiceDatabase("intake", Base.metadata, os.environ["CUNBAN_BENCH_MONOLITH_DB"])
vault = PersonalDataVault(settings.pii_keys, settings.pii_search_key)
app = FastAPI()


def signed_in(authorization: str) -> Caller:
    try:
        claims = jwt.decode(authorization.removeprefix("Bearer "), settings.secret_key, algorithms=["HS256"])
    except jwt.PyJWTError:
        raise HTTPException(401, "the token is not valid") from None
    return Caller(staff_id=int(claims["sub"]), username=claims.get("username"), role=Role(claims["role"]),
                  township_code=claims.get("township"), station_code=claims.get("station"))


@app.post("/applications", status_code=201)
def file_application(application: Annotated[c.ApplicationFile, Body()], authorization: Annotated[str, Header()],
                     idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None) -> dict:
    caller = access.authorize(signed_in(authorization), "intake.file_application")
    uow = database.unit_of_work()
    try:
        return filing.file_application(uow, caller=caller, cmd=application, idempotency_key=idempotency_key,
                                         vault=vault, now=utcnow()).model_dump(mode="json")
    except CunbanError as exc:
        raise HTTPException(exc.http_status, str(exc)) from None
    finally:
        uow.close()


@app.get("/healthz")
def healthz() -> dict:
    return {"status": "ok"}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
