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

# ---- administration (console_admin.py) and my account (console_account.py) ----
HANDLING_LEVEL = {"village": "村级", "township": "乡镇", "county": "县级"}
VILLAGE_KIND = {"village": "行政村", "community": "社区"}
ITEM_STATUS = {"active": "在办", "withdrawn": "已停办"}
ADMIN_DONE = {  # what a form did, said on the page it leads to
    "township_created": "乡镇已新增。", "township_updated": "乡镇信息已保存。",
    "village_created": "村（社区）已新增。", "village_updated": "村（社区）已保存。",
    "station_created": "服务站已新增。", "station_updated": "服务站信息已保存。",
    "key_revoked": "密钥已停用，马上失效。",
    "staff_created": "人员已新增。请把用户名和初始密码当面告诉本人，并提醒他登录后修改密码。",
    "staff_updated": "人员信息已保存。改了岗位、服务站、密码或停用后，此人需要重新登录。",
    "item_updated": "事项已保存，办事指南和一次性告知单马上按新内容显示。",
    "item_withdrawn": "事项已停办，群众在办事指南里看不到了。",
    "workflow_saved": "办理流程已保存，以后受理的申请按新流程办理。", "workflow_default": "已恢复默认流程。",
}
ADMIN_WORKFLOW = {
    "invalid": "办理流程有问题，没有保存：请按标红的提示修改。",
    "name": "步骤代号用英文小写字母开头，2到32位（小写字母、数字、下划线），例如 township_review。",
    "title": "请填写步骤名称（不超过100个字），例如“乡镇审核”。",
    "level": "请选择这一步在哪一级办理。",
    "roles": "请至少勾选一个办理岗位。",
    "limit_days": "时限请填0到365之间的工作日数。",
    "on_approve": "请填写通过后转到的步骤代号；最后一步填 approved（审批完成）。",
    "warning_share": "预警比例请填1到99之间的数字。",
    "name_twice": "这个步骤代号和前面的重复了，请换一个。",
    "name_reserved": "approved 表示审批完成，不能用作步骤代号。",
    "on_approve_missing": "通过后转到的“{target}”不是这个流程里的步骤：请填上面已有的步骤代号，最后一步填 approved。",
    "roles_misplaced": "{roles}不在{level}办理：请改选这一级的岗位，或改办理层级。",
    "unreachable": "从第一步出发永远走不到这一步：请检查前面步骤的“通过后转到”。",
    "loop": "审批会绕回前面的步骤，永远办不完：请检查各步骤的“通过后转到”。",
    "too_long": ("各步骤时限加起来是 {total} 个工作日，超过了承诺时限 {promised} 个工作日："
                 "请缩短步骤时限，或先延长承诺时限。"),
    "steps": "请至少填写一个步骤，最多12个。",
}
ADMIN_WORKFLOW_TOO_LONG = "办理流程各步骤的时限加起来会超过新的承诺时限：请先到“办理流程”缩短步骤时限。"
ERROR_MESSAGES.update({
    "current_password_wrong": "现在的密码不对，请重新输入。输错多次会被暂时锁定。",
    "password_unchanged": "新密码不能和现在的密码一样。",
    "township_exists": "这个乡镇代码已经有了，请核对。",
    "village_exists": "这个村（社区）代码已经有了，请核对。",
    "station_exists": "这个服务站代码已经有了，请换一个。",
    "username_taken": "这个用户名已经有人用了，请换一个。",
    "workflow_invalid": "办理流程有问题，没有保存：请按标红的提示修改。",
    "station_key_revoked": "这个密钥已经停用，不能更换：请新建一个。",
    "station_key_not_found": "没有找到这个密钥，可能已被删除或不在您管理的范围。",
    "station_not_found": "没有找到这个服务站，或不在您管理的范围。",
    "staff_not_found": "没有找到这个人员，或不在您管理的范围。",
    "catalogue_not_found": "没有找到这个事项，或不在您管理的范围。",
    "role_not_allowed": "您的岗位不能做这件事。",
})
