"""People's words for the pages (zh-CN): statuses, channels, roles and error codes said the way a villager
or a clerk would, with what to do next. The API keeps its stable codes; only the pages translate them."""
from __future__ import annotations

from shared.contracts.complaints import CATEGORY_NAMES
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
    "county_admin": "县级管理员", "system_admin": "系统管理员", "station_client": "服务站终端", "public": "群众",
    "system": "系统",
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
    "registered": "已登记，等待分派", "assigned": "已分派，等待签收", "signed": "已签收，还没有办理记录",
    "handling": "办理中，已有办理记录",
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
COMPLAINT_CATEGORY = CATEGORY_NAMES

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

# ---- system: the county's calendar, scores, audit log and system health ----
CALENDAR_KIND = {"holiday": "法定节假日（放假）", "makeup_workday": "调休上班", "local_day_off": "本县休息日"}
CALENDAR_MARK = {"holiday": "休", "makeup_workday": "班", "local_day_off": "休"}  # the marks on a wall calendar
CALENDAR_SOURCE = {"official": "国务院通知", "local": "本县规定"}
CALENDAR_BASIS = {"official_data": "国家公布的节假日数据", "county": "县级管理员确认"}
SCORE_COMPONENT = {"completion": "办结率", "on_time": "承诺期限兑现率", "satisfaction": "群众满意率",
                   "attendance": "赶集日到岗率", "conduct": "作风（没有查实的投诉）"}
COMPLAINT_LIMIT_KIND = {"staff_conduct": "干部作风投诉", "dispute": "矛盾纠纷", "petition": "信访诉求",
                        "suggestion": "意见建议"}
COMPLAINT_LIMIT_STAGE = {"assign": "分派", "sign": "签收", "reply": "答复", "call_back": "回访"}
# the audit log's actions: each operation (API or page) as a person would say what was done
AUDIT_ACTION = {
    "login": "登录", "logout": "退出登录", "page_sign_in": "登录（网页）", "page_sign_out": "退出登录（网页）",
    "bootstrap_county": "新增县",
    "create_township": "新建乡镇", "update_township": "修改乡镇", "create_village": "新建村",
    "update_village": "修改村", "create_station": "新建服务站", "update_station": "修改服务站",
    "create_station_key": "发放服务站密钥", "rotate_station_key": "更换服务站密钥",
    "revoke_station_key": "作废服务站密钥", "create_staff": "新建人员账号", "update_staff": "修改人员账号",
    "get_staff": "查看人员信息", "list_staff": "查看人员名单",
    "create_catalogue_item": "新建办理事项", "update_catalogue_item": "修改办理事项",
    "withdraw_catalogue_item": "停办事项", "set_catalogue_workflow": "设置审批流程",
    "clear_catalogue_workflow": "恢复默认审批流程", "create_market_site": "新建集市",
    "update_market_site": "修改集市", "set_calendar_day": "录入节假日/调休",
    "clear_calendar_day": "删除节假日/调休", "complete_calendar_year": "确认全年节假日已录入完整",
    "audit_log": "查看操作日志", "file_application": "受理申请", "get_application": "查看申请",
    "list_applications": "查看申请列表", "act_on_application": "审批办理", "get_approval_case": "查看审批记录",
    "approval_inbox": "查看待办", "record_consultation": "登记咨询", "record_service_activity": "登记服务活动",
    "record_practical_deed": "登记办实事", "register_complaint": "登记诉求",
    "register_complaint_online": "网上提交诉求", "complaint_action": "办理诉求", "get_complaint": "查看诉求",
    "list_complaints": "查看诉求列表", "assign_cadre": "安排赶集日值班", "swap_cadres": "调换赶集日值班",
    "generate_sessions": "生成赶集日场次", "generate_roster": "生成赶集日排班", "record_leave": "登记请假",
    "check_in": "签到", "check_out": "签退", "create_slots": "开放预约时段", "book_slot": "群众预约",
    "book_slot_for_villager": "为群众预约", "cancel_booking": "取消预约", "mark_booking": "标记预约到场情况",
    "list_bookings": "查看预约名单", "list_visit_bookings": "查看下访预约名单", "create_campaign": "新建专项活动",
    "plan_visit": "计划下访", "create_visit_series": "计划定期下访", "change_visit_series": "修改定期下访",
    "cancel_visit": "取消下访", "restore_session": "恢复赶集日场次", "restore_visit": "恢复下访",
    "decide_session_day_off": "处理节假日的赶集日场次", "decide_visit_day_off": "处理节假日的下访",
    "report_visit": "填写下访报告", "create_visit_slots": "开放下访预约", "rate": "登记评价",
    "rate_in_public": "群众评价", "follow_up_rating": "差评回访", "get_rating": "查看评价",
    "acknowledge_warning": "确认苗头性问题", "set_score_settings": "修改考评权重和标准",
    "set_complaint_limits": "修改诉求办理时限", "set_early_warning_rule": "修改预警规则",
    "replay_dead_letters": "重新处理死信", "public_progress": "群众查询进度",
    "public_complaint_progress": "群众查询诉求进度", "figure_records": "查看统计背后的记录",
    "township_report": "下载乡镇报告",
    "page_file_application": "受理申请（网页）", "page_receipt": "查看回执（网页）",
    "page_application": "查看申请（网页）", "page_records": "查看我的记录（网页）",
    "page_register_complaint": "登记诉求（网页）", "page_record": "登记服务记录（网页）",
    "page_mark_booking": "标记预约到场情况（网页）", "page_check": "签到签退（网页）",
    "page_console": "打开工作台（网页）", "page_market_book": "群众预约（网页）",
    "page_market_cancel": "群众取消预约（网页）", "page_complain_send": "群众提交诉求（网页）",
    "page_rate_send": "群众评价（网页）", "page_progress_look_up": "群众查询进度（网页）",
    "page_complaint_look_up": "群众查询诉求进度（网页）",
    "page_set_calendar_day": "录入节假日/调休（网页）", "page_clear_calendar_day": "删除节假日/调休（网页）",
    "page_complete_calendar_year": "确认全年节假日已录入完整（网页）",
    "page_set_score_settings": "修改考评权重和标准（网页）", "page_set_complaint_limits": "修改诉求办理时限（网页）",
    "page_set_warning_rule": "修改预警规则（网页）", "page_audit_log": "查看操作日志（网页）",
    "page_replay_dead_letters": "重新处理死信（网页）",
    "change_own_password": "修改自己的密码", "page_change_password": "修改自己的密码（网页）",
    "page_market_booked": "群众查看预约凭证（网页）", "page_complaints": "查看诉求列表（网页）",
    "page_complaint": "查看诉求（网页）", "page_complaint_act": "办理诉求（网页）",
    "page_admin_create_township": "新建乡镇（网页）", "page_admin_update_township": "修改乡镇（网页）",
    "page_admin_create_village": "新建村（网页）", "page_admin_update_village": "修改村（网页）",
    "page_admin_create_station": "新建服务站（网页）", "page_admin_update_station": "修改服务站（网页）",
    "page_admin_create_station_key": "发放服务站密钥（网页）",
    "page_admin_rotate_station_key": "更换服务站密钥（网页）",
    "page_admin_revoke_station_key": "作废服务站密钥（网页）", "page_admin_staff_list": "查看人员名单（网页）",
    "page_admin_create_staff": "新建人员账号（网页）", "page_admin_staff": "查看人员账号（网页）",
    "page_admin_update_staff": "修改人员账号（网页）", "page_admin_update_item": "修改办事事项（网页）",
    "page_admin_withdraw_item": "停办事项（网页）", "page_admin_set_workflow": "修改办理流程（网页）",
    "page_admin_default_workflow": "恢复默认办理流程（网页）", "page_act_on_application": "办理申请（网页）",
    "page_generate_sessions": "生成赶集日场次（网页）", "page_generate_roster": "自动排班（网页）",
    "page_record_leave": "登记请假（网页）", "page_market_session": "查看赶集日场次（网页）",
    "page_market_session_action": "调整赶集日场次（网页）", "page_market_check": "代为签到签退（网页）",
    "page_figure_records": "查看统计背后的记录（网页）", "page_supervision": "查看督办（网页）",
    "page_acknowledge_alert": "确认苗头性问题（网页）", "page_plan_visit": "计划下访（网页）",
    "page_create_visit_series": "计划定期下访（网页）", "page_create_campaign": "新建专题（网页）",
    "page_visit": "查看下访（网页）", "page_report_visit": "填写下访报告（网页）",
    "page_cancel_visit": "取消下访（网页）", "page_visit_slots": "开放下访预约（网页）",
}
ERROR_MESSAGES.update({
    "calendar_year_empty": "这一年还没有录入任何法定节假日：请先按国务院办公厅的放假通知录入，再确认全年已录入完整。",
    "calendar_not_found": "这一天没有录入过，不用删除。",
})

# ---- township supervisors: 一览, 督办, 考评 (console_oversight.py) ----
BASIS = {
    "cohort": "按期内受理的办件统计：办结数、办结率和承诺期限兑现率都是本期受理的申请中已办结、按期办结的",
    "flow": "按期内发生的办理统计：办结数是本期内办结的（含此前受理的），所以不算办结率",
}
LEVEL = {"township": "乡镇", "station": "服务站", "village": "村", "staff": "工作人员"}
RANK_LEVEL = {"staff": "工作人员", "station": "服务站", "village": "村"}
METRIC = {
    "received": "受理的申请", "completed": "期内办结的申请", "on_time": "期内按期办结的申请",
    "completed_late": "超期办结的申请", "working_days": "办结用的工作日", "overdue": "超期的申请（督办）",
    "ratings": "收到的评价", "satisfied": "满意的评价", "substantiated": "被投诉属实",
    "sessions_attended": "赶集日坐班到岗", "sessions_missed": "赶集日坐班缺岗", "visits_made": "下访",
    "visits_missed": "下访缺席", "consultations": "接待来访咨询", "service_activities": "服务活动",
    "practical_deeds": "办实事", "complaints": "投诉", "cohort_completed": "本期受理、已办结的申请",
    "cohort_on_time": "本期受理、按期办结的申请", "cohort_working_days": "本期受理的申请办结用的工作日",
    "steps_handled": "经办的审核环节", "steps_on_time": "按期办完的审核环节", "accountability": "责任追究记录",
}
RESPONSIBLE = {
    "claimed": "签收了这一环节，由本人负责",
    "supervisor": "这一环节没有人签收，由分管领导负责（应当及时分派）",
    "first_contact": "首问负责人，对整件事负责",
}
NOTICE_KIND = {"supervision": "督办", "accountability": "责任追究"}
DEADLINE_KIND = {"overall": "承诺办结期限", "step": "环节期限"}
ALERT_RULE = {"burst": "短期内集中出现", "rise": "比平常明显增多"}
ERROR_MESSAGES.update({
    "not_a_supervisor": "这一步只有分管领导能做。",
    "bad_period": "统计期间不对：结束日期不能早于开始日期，最长十年。",
    "unit_not_found": "没有这个单位的数据，或者它不在您负责的范围内。",
    "not_county": "全县的数据只有县级管理员能看：请选择一个乡镇。",
    "alert_not_found": "没有找到这条苗头性问题预警，请刷新页面。",
    "acknowledgement_note_missing": "请写明已经采取的措施，再确认预警。",
})
# ---- market-day posts (console_market) ----
SESSION_STATUS = {"scheduled": "照常", "cancelled": "已取消", "needs_decision": "待决定（遇休息日，已有群众预约）"}
ATTENDANCE = {"attended": "出勤", "no_show": "缺岗（未签到）"}
ERROR_MESSAGES.update({
    "not_a_planner": "只有本乡镇的分管领导和县级管理员能安排赶集日服务岗和下访。",
    "not_a_cadre": "只能安排本乡镇在岗的乡镇干部、站所工作人员或分管领导，请从名单中重新选择。",
    "on_leave": "这位干部那天请假，请换一位干部或换个日子。",
    "double_booked": "这位干部那个时间已经排了别的服务岗或下访，一个人不能同时在两处：请换一位干部。",
    "session_closed": "这一场已经结束或已取消，不能再排班或换人。",
    "slots_exist": "这一场已经开放了预约时段，不用再开。",
    "not_restorable": "这一场现在不能恢复：那天仍是休息日，或排班的干部已有别的安排。请刷新页面看看。",
    "no_decision_pending": "这一场不需要再决定了，请刷新页面看看最新情况。",
    "market_site_not_found": "没有这个集市，请从本乡镇的集市中选择。",
    "staff_not_found": "没有找到这位工作人员，或不在您管理的范围：请从名单中选择。",
})
MARKET_MESSAGES = {  # the same codes, said to the planner who rosters others (not to the cadre themselves)
    "not_rostered": "这位干部不在这一场的排班中（或这一场已经结束），请刷新页面看看最新排班。",
    "not_today": "只能在这一场的当天、结束前登记签到和签退。",
}


def market_error(exc: CunbanError) -> str:
    return MARKET_MESSAGES.get(exc.code) or error_message(exc)
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
    "catalogue_not_found": "没有找到这个事项，或不在您管理的范围。",
    "role_not_allowed": "您的岗位不能做这件事。",
})

# ---- complaints and visits (诉求办理, 下访) ----
COMPLAINT_CHANNEL = {"hotline": "投诉电话", "station": "村便民服务站", "market_day": "赶集日便民服务岗",
                     "visit": "干部下访", "online": "网上信访", "reception_day": "书记大接访"}
ERROR_MESSAGES.update({
    "action_not_allowed": "这件诉求现在的状态不能做这一步，请看页面上最新的状态。",
    "not_the_handler": "只有这件诉求的办理人能做这一步。",
    "accused_cannot_handle": "被投诉的人不能办理投诉自己的诉求，请选择其他办理人。",
    "not_independent": "回访要由办理人和被投诉人以外的人来做。",
    "not_a_dispute": "只有矛盾纠纷才记录调解。",
    "not_a_handler": "只能交给本乡镇在岗的乡镇干部、站所工作人员或分管领导办理。",
    "no_accused": "这件诉求没有被投诉人，不需要核查结论。",
    "finding_exists": "核查结论已经记过了。",
    "same_unit": "核查结论要由被投诉人所在单位以外的领导作出。",
    "not_a_filer": "您的岗位不能登记诉求。",
    "unknown_staff": "没有这个工作人员，请从列表中选择。",
    "day_in_past": "下访日期不能早于今天。",
    "unknown_campaign": "没有这个专题活动，请从列表中选择。",
    "outside_campaign": "专题下访的日期要在专题活动的起止日期之内。",
    "visit_closed": "这次下访已经报告过或已取消。",
    "visit_not_started": "下访开始以后才能填写报告。",
    "not_on_visit": "只能勾选这次下访安排的人员。",
    "not_an_appointment_visit": "只有计划中的预约下访可以开放预约时段。",
    "visit_series_not_found": "没有找到这组下访。",
    "bad_cursor": "翻页的位置已失效，请回到第一页。",
})

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


# ---- complaints console ----
# what staff are told where the villagers' words (a look-up code to check) would be wrong for them
COMPLAINT_STAFF_ERRORS = {"complaint_not_found": "这不在您负责的乡镇范围内，或没有这件诉求。"}

# ---- directory rules: the audit log's objects, names used once, the calendar's rules ----
AUDIT_OBJECT_KIND = {
    "township": "乡镇", "village": "村", "station": "服务站", "staff": "人员", "item": "事项",
    "application": "办件", "complaint": "诉求", "session": "赶集日场次", "visit": "下访", "slot": "预约时段",
    "booking": "预约", "alert": "苗头性问题", "station_key": "服务站密钥", "series": "定期下访", "day": "日期",
    "year": "年份", "complaint_kind": "诉求类别", "market_site": "集市",
}
VILLAGE_KIND_WORD = {"village": "村", "community": "社区"}
AUDIT_ACTION.update({"set_calendar_range": "录入一段节假日/调休", "names": "查看名称"})
ERROR_MESSAGES.update({
    "village_name_taken": "本乡镇已经有一个村（社区）叫这个名字，请换一个名字，或者先核对是不是同一个村。",
    "station_name_taken": "本乡镇已经有一个服务站叫这个名字，请换一个名字。",
    "makeup_day_not_weekend": "调休上班的日子是周六或周日：平常的工作日不用录入调休上班。请核对放假通知里的日期。",
    "calendar_range_invalid": "日期范围不对：结束日期不能早于开始日期，要在同一年里，最多31天。",
    "calendar_year_complete": "这一年的日历已确认完整，修改会改变正在计时的办件期限，需要再确认一次。",
})

# ---- oversight, evaluation and system pages (reports) ----
ERROR_MESSAGES.update({
    "out_of_scope": "这不在您负责的乡镇范围内。",
    "out_of_county": "这不在您负责的县（市、区）范围内。",
})

# ---- counties (many on one installation) ----
ERROR_MESSAGES.update({
    "county_unknown": "本系统还没有这个县（市、区）：请核对行政区划代码，或请系统管理员先添加这个县。",
    "county_required": "请先选择一个县（市、区）。",
    "township_not_in_county": "乡镇代码的前6位要和所属县（市、区）的代码一致，请核对。",
    "system_admin_only": "只有系统管理员可以添加县（市、区）和县级管理员。",
})

# ---- notifications ----
AUDIT_ACTION.update({
    "set_notification_settings": "修改短信设置", "save_notification_template": "修改短信模板",
    "preview_notification_template": "预览短信模板", "mark_my_notices_read": "标记消息已读",
    "page_notices_read": "全部消息标为已读（网页）", "page_notice_open": "查看消息（网页）",
})
AUDIT_ACTION.update({"sms_delivery_reports": "短信状态报告回调", "sms_replies": "短信上行回复回调",
                     "page_set_sms_settings": "修改短信设置（网页）",
                     "page_save_sms_template": "修改或预览短信模板（网页）"})
ERROR_MESSAGES.update({
    "county_not_found": "没有这个县，请从列表里选择。",
    "notice_not_found": "没有这种通知，请从短信模板列表里选择。",
    "template_invalid": "短信模板有问题，请按提示修改。",
    "template_too_long": "短信模板太长，请写短一些。",
    "template_value_missing": "预览缺少变量的值。",
    "provider_settings_invalid": "所选发送方式的账号设置不全或有误，请按提示填写。",
})
