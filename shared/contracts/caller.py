"""Who is calling, and over which part of the tenant tree: travels with every RPC."""
from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from shared.errors import Forbidden


class Role(StrEnum):
    VILLAGE_AGENT = "village_agent"  # 代办员
    VILLAGE_COMMITTEE = "village_committee"  # 村两委
    GRADUATE_OFFICIAL = "graduate_official"  # 大学生村官
    TOWNSHIP_CADRE = "township_cadre"  # 乡镇干部
    DEPARTMENT_STAFF = "department_staff"  # 站所工作人员
    SUPERVISOR = "supervisor"  # 政务服务中心 / 领导小组办公室
    COUNTY_ADMIN = "county_admin"  # 县信息中心
    PUBLIC = "public"  # an unauthenticated villager, or the gateway acting for one
    SYSTEM = "system"  # the platform itself (demo seeding, migrations)


COUNTY_ROLES = frozenset({Role.COUNTY_ADMIN, Role.SYSTEM})
STATION_ROLES = frozenset({Role.VILLAGE_AGENT, Role.VILLAGE_COMMITTEE, Role.GRADUATE_OFFICIAL})  # at a village station


class Caller(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    staff_id: int | None = None
    username: str | None = None
    role: Role
    township_code: str | None = None
    station_code: str | None = None
    correlation_id: str | None = None

    @classmethod
    def public(cls, correlation_id: str | None = None) -> Caller:
        return cls(role=Role.PUBLIC, correlation_id=correlation_id)

    @classmethod
    def system(cls) -> Caller:
        return cls(role=Role.SYSTEM, username="system")

    @property
    def is_county(self) -> bool:
        return self.role in COUNTY_ROLES

    def sees_township(self, township_code: str) -> bool:
        return self.is_county or (self.township_code is not None and self.township_code == township_code)

    def township_filter(self) -> str | None:
        """None means every township (county roles); otherwise the caller's own township."""
        return None if self.is_county else self.township_code

    def require_role(self, *roles: Role) -> None:
        if self.role not in roles and self.role is not Role.SYSTEM:
            raise Forbidden(f"role {self.role.value} may not do this", {"allowed": [r.value for r in roles]})
