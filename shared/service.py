"""What a nameko service needs at its edge: the rpc entrypoint that lets typed errors cross as
expected, and the caller (identity and tenant scope) each RPC must carry."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from nameko.extensions import DependencyProvider
from nameko.rpc import rpc as nameko_rpc

from shared.contracts.caller import Caller
from shared.errors import CunbanError, Unauthenticated
from shared.pii import PersonalDataVault
from shared.settings import get_settings

CALLER_CONTEXT_KEY = "caller"  # travels as the AMQP header "nameko.caller"

def rpc(method: Callable[..., Any]) -> Callable[..., Any]:
    """nameko's @rpc with our typed errors as expected exceptions: logged as warnings, not as crashes.
    (functools.partial would not do: nameko drops decorator keywords when handed the function directly.)"""
    return nameko_rpc(expected_exceptions=(CunbanError,))(method)


class CallerContext(DependencyProvider):
    """`self.caller()` returns who is calling; a call that carries no identity is refused."""

    def get_dependency(self, worker_ctx: Any) -> Callable[[], Caller]:
        raw = worker_ctx.data.get(CALLER_CONTEXT_KEY)
        correlation = worker_ctx.data.get("correlation_id")

        def caller() -> Caller:
            if not raw:
                raise Unauthenticated("this call carries no caller identity")
            data = json.loads(raw) if isinstance(raw, str) else raw
            data["correlation_id"] = correlation
            return Caller.model_validate(data)

        return caller


class PersonalData(DependencyProvider):
    """The vault that encrypts and decrypts personal data, built once from the configured keys."""

    def setup(self) -> None:
        self.vault = PersonalDataVault(self.container.config.get("PII_KEYS") or get_settings().pii_keys)

    def get_dependency(self, worker_ctx: Any) -> Any:
        return self.vault
