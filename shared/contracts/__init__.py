"""Contracts: every RPC payload and event body is a pydantic model here, versioned. Services import
contracts, never each other's code."""
from shared.contracts.base import Contract, parse
from shared.contracts.caller import Caller, Role
from shared.contracts.envelope import EventEnvelope

__all__ = ["Contract", "parse", "Caller", "Role", "EventEnvelope"]
