"""What is sent, to whom: every kind of notice the platform sends, the audience it goes to, the
variables its template may use (with the longest value each can take, for counting SMS segments, and
a sample, for previews), and the county's starting text. Pure data and rules; no I/O."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Audience(StrEnum):
    APPLICANT = "applicant"  # who filed an application (their phone is kept by intake)
    BOOKER = "booker"  # a villager who booked a place at a market-day post or an appointment visit (scheduling)
    COMPLAINANT = "complainant"  # who raised a complaint and gave a phone (complaints); never an anonymous one
    STAFF = "staff"  # a cadre, official or supervisor (directory): in the console, and by SMS where turned on


@dataclass(frozen=True)
class Variable:
    description: str  # in Chinese, shown in the template editor
    longest: int  # characters the value can reach: a template's length is counted with every value this long
    sample: str  # what a preview shows


VARIABLES: dict[str, Variable] = {
    "item": Variable("事项名称", 20, "农村低保申请"),
    "receipt_no": Variable("受理编号或诉求编号", 20, "QS-20261203-0007"),
    "days": Variable("承诺办结时限（工作日数）", 3, "20"),
    "deadline": Variable("承诺办结日期", 6, "12月18日"),
    "lookup_url": Variable("进度查询网址", 50, "https://cunban.example.cn/q/QS-20261203-0007"),
    "rating_url": Variable("评价网址", 60, "https://cunban.example.cn/rate?receipt=QS-20261203-0007"),
    "materials": Variable("需补正的材料", 40, "户口簿复印件、收入证明"),
    "place": Variable("地点", 20, "青石镇便民服务中心"),
    "result": Variable("办理结果", 10, "准予办理"),
    "time": Variable("时间", 12, "12月5日 09:00"),
    "reason": Variable("原因", 30, "当日停办"),
    "stage_due": Variable("本环节期限", 6, "12月7日"),
    "village": Variable("村名", 10, "石门村"),
    "topic": Variable("事由", 24, "7天内水利、饮水类诉求3件"),
}


@dataclass(frozen=True)
class Notice:
    kind: str
    name: str  # in Chinese, for the console and the template list
    audience: Audience
    variables: tuple[str, ...]  # what its template may use
    text: str  # the county's starting template
    urgent: bool = False  # sent in quiet hours too
    required: bool = False  # a notice the law requires: sent even to a number that opted out


def _notices(*notices: Notice) -> dict[str, Notice]:
    return {n.kind: n for n in notices}


A, B, C, S = Audience.APPLICANT, Audience.BOOKER, Audience.COMPLAINANT, Audience.STAFF

# 行政许可法 第三十二条: what must be supplied is told once and in full (补正), and the decision is made known;
# those two reach the applicant even after 退订.
NOTICES: dict[str, Notice] = _notices(
    Notice("application_filed", "受理回执", A, ("item", "receipt_no", "days", "lookup_url"),
           "您的${item}申请已受理，编号${receipt_no}，承诺${days}个工作日内办结。查进度：${lookup_url}"),
    Notice("materials_requested", "补正通知", A, ("item", "receipt_no", "materials", "place"),
           "您的${item}申请（${receipt_no}）需补正：${materials}。请送到${place}。补齐前办理时限暂停计算。",
           required=True),
    Notice("clock_resumed", "恢复计时", A, ("item", "receipt_no", "deadline"),
           "您的${item}申请（${receipt_no}）材料已补齐，恢复计时，承诺${deadline}前办结。"),
    Notice("application_completed", "办结通知", A, ("item", "receipt_no", "result", "place"),
           "您的${item}申请（${receipt_no}）已办结，结果：${result}。请到${place}领取。", required=True),
    Notice("rating_invitation", "评价邀请", A, ("item", "receipt_no", "rating_url"),
           "请您评价${item}（${receipt_no}）的办理：${rating_url}"),
    Notice("booking_confirmed", "预约确认", B, ("place", "time"),
           "您已预约${time}在${place}办事，请按时前往。"),
    Notice("booking_reminder", "预约提醒", B, ("place", "time"),
           "提醒：您预约了明天${time}在${place}办事。"),
    Notice("booking_cancelled", "预约取消", B, ("place", "time", "reason"),
           "抱歉，您预约的${time}在${place}办事已取消：${reason}。请另约时间。", urgent=True),
    Notice("complaint_registered", "诉求登记", C, ("receipt_no", "lookup_url"),
           "您的诉求已登记，编号${receipt_no}。查进度：${lookup_url}"),
    Notice("complaint_replied", "诉求答复", C, ("receipt_no", "lookup_url"),
           "您的诉求（${receipt_no}）已答复，请查看：${lookup_url}"),
    Notice("complaint_call_back", "回访安排", C, ("receipt_no", "time"),
           "我们将在${time}前就您的诉求（${receipt_no}）回访您，请留意来电。"),
    Notice("case_assigned", "新办件", S, ("item", "receipt_no", "deadline"),
           "新办件：${item}（${receipt_no}），承诺${deadline}前办结。"),
    Notice("complaint_assigned", "新诉求", S, ("receipt_no", "stage_due"),
           "新诉求${receipt_no}分派给您，请在${stage_due}前签收。"),
    Notice("deadline_warning", "临期提醒", S, ("item", "receipt_no", "deadline"),
           "临期：${item}（${receipt_no}）须在${deadline}前办结。"),
    Notice("overdue", "超期通知", S, ("item", "receipt_no", "deadline"),
           "已超期：${item}（${receipt_no}）承诺${deadline}前办结。", urgent=True),
    Notice("supervision_notice", "督办通知", S, ("receipt_no", "reason"),
           "督办：${receipt_no}，${reason}。请尽快办理。"),
    Notice("accountability", "责任追究", S, ("receipt_no", "reason"),
           "关于${receipt_no}已记录责任追究：${reason}。"),
    Notice("roster_reminder", "排班提醒", S, ("place", "time"),
           "提醒：您${time}在${place}值守便民服务岗。"),
    Notice("visit_reminder", "下访提醒", S, ("place", "time"),
           "提醒：您${time}到${place}下访。"),
    Notice("early_warning", "预警", S, ("village", "topic"),
           "苗头性问题：${village}${topic}，请关注。"),
)
