"""People's words for the pages (zh-CN): statuses, channels, roles and error codes said the way a villager
or a clerk would, with what to do next. The API keeps its stable codes; only the pages translate them."""
from __future__ import annotations

from shared.errors import CunbanError

APPLICATION_STATUS = {
    "received": "已受理", "accepted": "办理中", "in_review": "审核中", "awaiting_supplement": "补正材料中",
    "refused": "不予受理", "completed": "已办结", "delivered": "已办结，结果已送达",
}
APPROVAL_ACTION = {
    "open": "立案", "accept": "受理", "refuse": "不予受理", "claim": "签收", "approve": "审核通过",
    "return": "退回", "request_supplement": "通知补正材料", "supplement_received": "补正材料已收到",
    "deny": "不予批准", "complete": "办结", "deliver": "送达结果", "extend": "延期",
}
OUTCOME = {"approved": "准予办理", "denied": "不予批准"}
CHANNEL = {
    "station": "村便民服务站", "market_day": "赶集日便民服务岗", "visit": "干部下访", "proxy": "代办员代办",
    "phone": "电话", "online": "网上",
}
ROLE = {
    "village_agent": "代办员", "village_committee": "村委会干部", "graduate_official": "大学生村官",
    "township_cadre": "乡镇干部", "department_staff": "站所工作人员", "supervisor": "分管领导",
    "county_admin": "县级管理员", "station_client": "服务站终端", "public": "群众", "system": "系统",
}
COMPLAINT_KIND = {"complaint": "投诉", "suggestion": "建议", "petition": "信访诉求", "dispute": "矛盾纠纷",
                  "staff_conduct": "投诉"}
# the public pages: the stages of an application, a complaint's status, what a complaint is about
STAGE = {
    "received": "受理登记", "accepted": "正式受理，开始计时", "refused": "不予受理", "step_changed": "转下一环节审核",
    "supplement_requested": "通知补正材料，暂停计时", "supplement_received": "材料已补齐，继续计时",
    "deadline_extended": "经批准延期", "completed": "办结", "result_delivered": "结果已送达",
}
COMPLAINT_STATUS = {
    "registered": "已登记，等待分派", "assigned": "已分派，等待签收", "signed": "已签收，正在办理",
    "handling": "正在办理",
    "replied": "已答复，等待回访", "closed_resolved": "已办结（问题已解决）",
    "closed_unresolved": "已办结（问题未能解决）",
}
SERVICE = {  # the six services that do not leave the village 六不出村
    "agency": "代办服务", "farming": "农资农技", "culture_sport": "文体活动", "minor_medical": "小病诊疗",
    "mediation": "矛盾调解", "approval": "审批服务",
}
VISIT_KIND = {"periodic": "定期下访", "fixed_point": "定点接访", "appointment": "预约上门", "topical": "专题下访",
              "joint": "联合下访"}
BOOKING_STATUS = {"booked": "已预约", "cancelled": "已取消", "served": "已接待", "no_show": "未到"}
COMPLAINT_CATEGORY = {
    "land": "土地、宅基地", "water": "水利、饮水", "roads": "道路交通", "environment": "环境卫生",
    "social_assistance": "低保、救助", "insurance": "医保、社保", "public_order": "治安", "neighbours": "邻里关系",
    "staff_conduct": "干部作风", "other": "其他",
}

# Error codes from the API → what the person should do. Codes not listed fall back to the class of error.
ERROR_MESSAGES = {
    "bad_credentials": "用户名或密码不对，请重新输入。",
    "login_locked": "登录失败次数太多，请稍等几分钟再试。",
    "session_ended": "登录已失效，请重新登录。",
    "token_expired": "登录已过期，请重新登录。",
    "token_invalid": "登录已失效，请重新登录。",
    "token_missing": "请先登录。",
    "form_expired": "页面已过期，请刷新页面后再提交一次。",
    "materials_missing": "材料不齐，不能受理：请补齐下面列出的材料后再提交。",
    "materials_required": "请勾选申请人已提供的材料。",
    "unknown_item": "没有这个办理事项，请从事项清单中选择。",
    "item_withdrawn": "这个事项已停止办理，请选择其他事项或咨询乡镇。",
    "unknown_village": "没有这个村，请从列表中选择。",
    "application_not_found": "没有查到这笔申请：请核对回执编号和手机号后四位。",
    "lookup_locked": "查询错误次数太多，请过一会儿再查，或拨打监督电话。",
    "idempotency_key_reused": "这张表单已经提交过，内容不同：请重新打开表单填写。",
    "slot_full": "这个时段已约满，请选择其他时段。",
    "slot_closed": "这个时段已停止预约，请选择其他时段。",
    "double_booked": "您已预约过这一场，不用重复预约。",
    "booking_closed": "这个预约已经取消过了，或者已经办理完，不用再取消。",
    "already_booked": "这个手机号已经预约了这个时段，不用重复预约；要改时间，请先取消原来的预约。",
    "already_rated": "这件事已经评价过了，谢谢您。",
    "not_rateable": "这件事还不能评价：办结或答复后才能评价。",
    "rateable_not_found": "没有查到可以评价的事项：请核对编号和手机号后四位。",
    "complaint_not_found": "没有查到这件投诉：请核对查询码。",
    "township_not_found": "没有这个乡镇，请从列表中选择。",
    "village_not_found": "没有这个村，请从列表中选择。",
    "booking_not_found": "没有查到这个预约：请核对预约编号。",
    "slot_not_found": "没有这个预约时段，请重新选择。",
    "session_not_found": "没有找到这一场服务，请回到赶集日历重新选择。",
    "visit_not_found": "没有找到这次下访，请回到赶集日历重新选择。",
    "filing_not_allowed": "您的岗位不能受理申请，请交给服务站工作人员。",
    "outside_station": "只能登记本服务站的事项。",
    "outside_scope": "这不在您负责的范围内。",
    "not_rostered": "您不在这一场赶集日服务岗的排班中。",
    "not_today": "只能在当天签到、签退。",
    "not_immediate": "这个事项不是即办件，不能当场办结：请取消“当场办结”后再提交。",
    "bad_filter": "筛选条件不对（比如日期），请重新选择。",
    "village_outside_township": "这个村不属于本乡镇，请重新选择。",
    "rate_limited": "操作太频繁，请稍等一会儿再试。",
    "payload_too_large": "提交的内容太多，请删减后再试。",
    "service_timeout": "系统繁忙，请稍后再试；已提交的内容不会重复办理。",
    "service_unavailable": "系统暂时不能使用，请稍后再试。",
    "broker_unavailable": "系统暂时不能使用，请稍后再试。",
}
PAGE_NOT_FOUND = "没有这个页面，或者地址里的编号不对：请核对后重新输入，或从首页进入。"
ADDRESS_INVALID = "地址里的内容有误：请从页面上的链接进入，不要手动修改地址。"
BY_STATUS = {
    400: "填写的内容有误，请检查后再提交。",
    401: "请先登录。",
    403: "您的岗位不能做这件事。",
    404: "没有找到，请核对后再试。",
    409: "这件事的状态已经变了，请刷新页面看看最新情况。",
    422: "填写的内容有误，请检查标红的项目。",
    429: "操作太频繁，请稍等一会儿再试。",
    503: "系统暂时不能使用，请稍后再试。",
}


def error_message(exc: CunbanError) -> str:
    """The Chinese sentence a page shows for an error from the services."""
    return ERROR_MESSAGES.get(exc.code) or BY_STATUS.get(exc.http_status) or "出了点问题，请稍后再试。"

# ---- cases: 待办 and a case's actions (console_cases.py) ----
CASE_STATUS = {  # an approval case's stage, as the handler says it
    "pending_acceptance": "待受理", "in_review": "审核中", "awaiting_supplement": "等待补正材料",
    "ready_to_complete": "待办结", "completed": "已办结，待送达", "delivered": "已送达", "refused": "不予受理",
}
CASE_STATUS_FILTER = {k: CASE_STATUS[k] for k in ("pending_acceptance", "in_review", "awaiting_supplement",
                                                  "ready_to_complete", "completed")}
CASE_ACTION_HINT = {
    "accept": "材料齐全、属于本乡镇受理范围：正式受理，开始计时。",
    "refuse": "不属于受理范围或不符合条件：不予受理，写明理由。",
    "claim": "签收本环节：本环节由您负责办理，超期由您说明。",
    "approve": "本环节审核通过，转下一环节（最后一个环节通过后即可办结）。",
    "return": "退回上一环节重新审核，写明理由。",
    "request_supplement": "材料不齐：一次性告知要补正的材料，暂停计时。",
    "supplement_received": "群众已补齐材料：登记收到的材料，继续计时。",
    "deny": "审核不通过：不予批准，写明理由。",
    "complete": "办结：办理结果告知群众。",
    "deliver": "结果已交到群众手中。",
    "extend": "经分管领导批准延期（1到60个工作日），须在期限届满前办理。",
}
CASE_DONE = {
    "accept": "已正式受理，开始计时。", "refuse": "已不予受理，理由已告知群众。", "claim": "已签收本环节。",
    "approve": "审核通过，已转下一环节。", "approve_last": "审核通过，可以办结。", "return": "已退回上一环节。",
    "request_supplement": "已通知补正材料，暂停计时。", "supplement_received": "补正材料已收到，继续计时。",
    "deny": "已不予批准。", "complete": "已办结。", "deliver": "结果已送达。", "extend": "已延期。",
}
CASE_REASON_NEEDED = {
    "refuse": "请写明不予受理的理由。", "return": "请写明退回的理由。", "deny": "请写明不予批准的理由。",
    "extend": "请写明延期的理由。",
}
CASE_ERRORS = {  # the same codes mean something else on a case than on a filing
    "materials_required": "请勾选或写明需要群众补正的材料。",
    "illegal_action": "这件申请现在不能这样办理（可能别人刚办理过）：请看页面上的最新状态。",
}
ERROR_MESSAGES.update({
    "not_your_step": "这一环节不由您的岗位办理。",
    "reason_required": "请写明理由后再提交。",
    "extension_invalid": "延期天数请填1到60之间的工作日数。",
    "extension_too_late": "已经超过期限，不能再延期：请尽快办结。",
    "case_not_found": "没有找到这件申请的审批记录。",
    "cursor_invalid": "翻页地址有误，请回到第一页重新翻页。",
    "illegal_action": CASE_ERRORS["illegal_action"],
})
