"""Whose phone: asked of the service that keeps it, at send time, so no number travels in an event or is
kept here. One RPC per owner, each with its own row in the access matrix (the platform's own caller only)."""
from __future__ import annotations

from typing import Any

from nameko.extensions import DependencyProvider

from shared.contracts.caller import Caller, Role
from shared.rpc_client import RpcClient

NOTIFICATIONS = Caller(role=Role.SYSTEM, username="notifications")

# recipient kind → (service, rpc, keyword): "application:<id>" asks intake.notice_contact(application_id=<id>)
OWNERS: dict[str, tuple[str, str, str]] = {
    "application": ("intake", "notice_contact", "application_id"),
    "complaint": ("complaints", "notice_contact", "complaint_id"),
    "staff": ("directory", "notice_contact", "staff_id"),
    "booking": ("scheduling", "notice_contact", "booking_id"),
}


class ContactBook:
    def __init__(self, client: RpcClient):
        self.client = client

    def __call__(self, recipient: str) -> str | None:
        kind, _, ref = recipient.partition(":")
        service, method, keyword = OWNERS[kind]
        key: str | int = int(ref) if kind == "staff" else ref  # staff are known by number
        return self.client.call(service, method, caller=NOTIFICATIONS, **{keyword: key})


class Contacts(DependencyProvider):
    """A ContactBook on one pooled RPC client per service process."""

    def setup(self) -> None:
        self.book = ContactBook(RpcClient(self.container.config["AMQP_URI"], timeout=10.0, pool_size=4))

    def get_dependency(self, worker_ctx: Any) -> ContactBook:
        return self.book
