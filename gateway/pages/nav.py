"""Where each staff member can go in the console: one list of the console's areas, each with the RPC its
page is built on and the roles it is offered to. The header shows a role's few daily places; the
workbench shows all of its places as tiles. A place is only offered to roles the access matrix lets
call its RPC (a test holds the two together), and every page still asks the services, which decide."""
from __future__ import annotations

from dataclasses import dataclass

from shared.contracts.caller import Caller, Role

FRONT_LINE = frozenset({Role.VILLAGE_AGENT, Role.VILLAGE_COMMITTEE, Role.GRADUATE_OFFICIAL, Role.TOWNSHIP_CADRE,
                        Role.DEPARTMENT_STAFF, Role.SUPERVISOR})  # file applications and record what they did
HANDLERS = frozenset({Role.TOWNSHIP_CADRE, Role.DEPARTMENT_STAFF, Role.SUPERVISOR})  # 办理人员
LEADERS = frozenset({Role.SUPERVISOR, Role.COUNTY_ADMIN, Role.SYSTEM_ADMIN})  # 分管领导 / 督办, the county, all
OFFICE = HANDLERS | LEADERS  # the township's office and the county
STAFF = FRONT_LINE | LEADERS


@dataclass(frozen=True)
class Place:
    href: str
    label: str
    hint: str
    action: str  # the RPC the page is built on
    roles: frozenset[Role]


PLACES = (
    Place("/console/inbox", "待办", "按剩余时间排的待办件", "approvals.inbox", HANDLERS),
    Place("/console/applications/new", "受理/代办", "为群众受理申请", "intake.file_application", FRONT_LINE),
    Place("/console/records/consultation/new", "登记咨询", "接待来访咨询", "intake.record_activity", FRONT_LINE),
    Place("/console/records/service_activity/new", "登记服务活动", "培训、义诊、文体活动", "intake.record_activity",
          FRONT_LINE),
    Place("/console/records/practical_deed/new", "登记办实事", "为群众办的实事", "intake.record_activity", FRONT_LINE),
    Place("/console/complaints/new", "登记诉求", "矛盾纠纷、信访、建议", "complaints.register", FRONT_LINE),
    Place("/console/records", "我的记录", "受理的申请和登记的事", "intake.list_applications", FRONT_LINE),
    Place("/console/complaints", "诉求办理", "签收、调解、答复、回访", "complaints.list_complaints", OFFICE),
    Place("/console/visits", "下访", "计划下访、我的下访、下访报告", "scheduling.list_visits", OFFICE),
    Place("/console/overview", "一览", "办件量、办结率、兑现率、满意率", "evaluation.figures", LEADERS),
    Place("/console/supervision", "督办", "督办、责任追究、苗头性问题", "approvals.notices", LEADERS),
    Place("/console/market", "赶集日", "集市、场次、排班、请假、考勤", "scheduling.list_sessions", LEADERS),
    Place("/console/rankings", "考评", "排名、表彰和问责名单、乡镇报告", "evaluation.ranking", LEADERS),
    Place("/console/admin", "管理", "村、服务站、人员、事项、日历、系统", "directory.list_staff", LEADERS),
    Place("/console/notices", "消息", "诉求分派、临期超期、督办、排班和下访提醒", "notifications.my_notices", STAFF),
    Place("/console/account", "我的账号", "修改密码", "directory.get_staff", STAFF),
)

# the header's few daily places per role (the workbench has the rest)
HEADER = {
    Role.VILLAGE_AGENT: ("/console/applications/new", "/console/records"),
    Role.VILLAGE_COMMITTEE: ("/console/applications/new", "/console/records"),
    Role.GRADUATE_OFFICIAL: ("/console/applications/new", "/console/records"),
    Role.TOWNSHIP_CADRE: ("/console/inbox", "/console/complaints", "/console/visits"),
    Role.DEPARTMENT_STAFF: ("/console/inbox", "/console/complaints", "/console/visits"),
    Role.SUPERVISOR: ("/console/inbox", "/console/overview", "/console/supervision", "/console/admin"),
    Role.COUNTY_ADMIN: ("/console/overview", "/console/admin"),
    Role.SYSTEM_ADMIN: ("/console/overview", "/console/admin"),
}


def places_for(staff: Caller | None) -> list[Place]:
    """Every place this staff member's role is offered, in the console's order."""
    return [p for p in PLACES if staff is not None and staff.role in p.roles]


def header_for(staff: Caller | None) -> list[Place]:
    if staff is None:
        return []
    by_href = {p.href: p for p in places_for(staff)}
    return [by_href[href] for href in HEADER.get(staff.role, ()) if href in by_href]
