"""What a nameko service needs at its edge: the rpc entrypoint that lets typed errors cross as
expected, and the caller (identity and tenant scope) each RPC must carry."""
from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from typing import Any

from nameko.extensions import DependencyProvider
from nameko.rpc import rpc as nameko_rpc

from shared.contracts import access
from shared.contracts.caller import Caller
from shared.errors import CunbanError, Unauthenticated
from shared.pii import PersonalDataVault
from shared.settings import get_settings

CALLER_CONTEXT_KEY = "caller"  # travels as the AMQP header "nameko.caller"


def rpc(method: Callable[..., Any]) -> Callable[..., Any]:
    """nameko's @rpc, guarded by the access matrix, with our typed errors as expected exceptions (logged
    as warnings, not as crashes). Before the method runs, the caller carried by the call is checked
    against the matrix row "<service>.<method>"; a call without a caller, or by a role the row does not
    grant, is refused. (functools.partial would not do: nameko drops decorator keywords when handed the
    function directly.)"""
    name = method.__name__

    @functools.wraps(method)
    def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        self.caller.authorize(f"{self.name}.{name}")
        return method(self, *args, **kwargs)

    guarded.__signature__ = inspect.signature(method)  # type: ignore[attr-defined]  # nameko checks it
    return nameko_rpc(expected_exceptions=(CunbanError,))(guarded)


class WorkerCaller:
    """Who is calling one worker: `self.caller()` in a service. `authorize` (run by @rpc) narrows it to
    the scope the matrix grants for the method."""

    def __init__(self, identity: Caller | None):
        self.identity = identity
        self.granted: Caller | None = None

    def authorize(self, action: str) -> Caller:
        if self.identity is None:
            raise Unauthenticated("this call carries no caller identity")
        self.granted = access.authorize(self.identity, action)
        return self.granted

    def __call__(self) -> Caller:
        if self.granted is not None:
            return self.granted
        if self.identity is None:
            raise Unauthenticated("this call carries no caller identity")
        return self.identity


class CallerContext(DependencyProvider):
    """The caller of each worker, read from the call's context; a call that carries none is refused."""

    def get_dependency(self, worker_ctx: Any) -> WorkerCaller:
        raw = worker_ctx.data.get(CALLER_CONTEXT_KEY)
        if not raw:
            return WorkerCaller(None)
        try:
            data = json.loads(raw) if isinstance(raw, str) else dict(raw)
            data.pop("scope", None)  # the scope is granted here, never taken from the wire
            data["correlation_id"] = worker_ctx.data.get("correlation_id")
            return WorkerCaller(Caller.model_validate(data))
        except (ValueError, TypeError):  # malformed identity: refused like a missing one
            return WorkerCaller(None)


class PersonalData(DependencyProvider):
    """The vault that encrypts and decrypts personal data, built once from the configured keys."""

    def setup(self) -> None:
        config, settings = self.container.config, get_settings()
        self.vault = PersonalDataVault(config.get("PII_KEYS") or settings.pii_keys,
                                       config.get("PII_SEARCH_KEY") or settings.pii_search_key)

    def get_dependency(self, worker_ctx: Any) -> Any:
        return self.vault
