"""Two demo counties on one installation, loaded through the services' own RPC as administrators would:
清水县 with three townships and 祁阳县 with one, their villages and stations, staff of every role, a
catalogue covering the six services, market sites; a county admin for each and the system administrator.
Loaded once: a county that already has its townships is left alone."""
from __future__ import annotations

import contextlib
import logging
from typing import Any

from shared.contracts.caller import Caller
from shared.errors import Conflict
from shared.rpc_client import RpcClient

log = logging.getLogger("cunban.demo")

DEMO_PASSWORD = "cunban-demo-2026"  # every demo account; documented in README.md, demo data only
SYSTEM_ADMIN = {"username": "sysadmin", "full_name": "系统管理员", "role": "system_admin"}
COUNTIES = [  # national administrative division codes: 431099 a demo code, 431121 祁阳 (湖南省永州市)
    {"code": "431099", "name": "清水县", "admin": ("admin", "清水县信息中心管理员")},
    {"code": "431121", "name": "祁阳县", "admin": ("qy_admin", "祁阳县信息中心管理员")},
]

TOWNSHIPS = [
    {"code": "431099101", "name": "青石镇", "hotline": "0731-88120101", "prefix": "qs",
     "villages": ["石门村", "桃源村", "长冲村", "大塘村", "新屋村", "马鞍村", "枫树村", "白沙村", "龙泉村"],
     "community": "青石社区", "market": ("QS-JISHI", "青石镇老街集市", "逢一四七")},
    {"code": "431099102", "name": "柳溪乡", "hotline": "0731-88120102", "prefix": "lx",
     "villages": ["柳溪村", "上湾村", "茶园村"], "community": None,
     "market": ("LX-JISHI", "柳溪乡场", "逢二五八")},
    {"code": "431099103", "name": "龙口镇", "hotline": "0731-88120103", "prefix": "lk",
     "villages": ["龙口村", "河西村", "杉木村"], "community": "龙口社区",
     "market": ("LK-JISHI", "龙口镇集市", "逢三六九")},
    {"code": "431121101", "name": "黎家坪镇", "hotline": "0746-38120101", "prefix": "ljp",
     "villages": ["黎家坪村", "石鼓村", "双桥村"], "community": "黎家坪社区",
     "market": ("LJP-JISHI", "黎家坪集市", "逢一四七")},
]

CATALOGUE = [
    ("DB-001", "农村最低生活保障申请", "agency", "township", 20, "本镇户籍、家庭人均收入低于当地低保标准的农村居民",
     ["村级受理并入户调查", "村民代表评议并公示", "乡镇审核", "县民政局审批"],
     ["申请书", "身份证", "户口簿", "家庭收入情况说明"]),
    ("YB-002", "城乡居民医疗保险参保登记", "agency", "village", 0, "未参加职工医保的城乡居民",
     ["服务站现场登记", "当场办结"], ["身份证", "户口簿"]),
    ("NZ-003", "农资购买代办", "farming", "village", 3, "本村农户",
     ["登记需求", "统一代购", "到站领取"], ["购买清单"]),
    ("NJ-004", "农业技术咨询与指导", "farming", "village", 0, "本镇农户及合作社",
     ["现场咨询", "必要时农技员上门指导"], []),
    ("WT-005", "文体活动场地预约", "culture_sport", "village", 0, "本村村民及文艺团体",
     ["预约登记", "当场确认"], ["活动说明"]),
    ("XB-006", "常见病诊疗与慢病随访", "minor_medical", "village", 0, "本村村民",
     ["村卫生室就诊", "慢病建档随访"], ["医保卡或身份证"]),
    ("TJ-007", "邻里纠纷调解", "mediation", "village", 15, "本村村民",
     ["受理登记", "调查了解", "组织调解", "制作调解协议"], ["当事人身份证明", "相关证据材料"]),
    ("SP-008", "农村村民住宅建设审批", "approval", "township", 20, "符合一户一宅条件的本集体经济组织成员",
     ["村级审查并公示", "乡镇审核", "联合踏勘", "乡镇审批并发放乡村建设规划许可证"],
     ["农村宅基地和建房(规划许可)申请表", "身份证", "户口簿", "村民小组会议记录"]),
    ("CJ-009", "残疾人证申领", "agency", "county", 20, "持本县户籍的残疾人",
     ["服务站代收材料", "指定医院评残", "县残联审核发证"], ["身份证", "户口簿", "近期免冠照片"]),
]
FEE_ITEM = ("NJ-010", "拖拉机和联合收割机号牌补领", "approval", "county", 10, "本县登记的农机所有人",
            ["服务站代收申请", "县农机监理站审核补发"], ["身份证", "农机行驶证"])


def load_demo(client: RpcClient) -> bool:
    """Load the demo counties; False when they were all already there."""
    system = Caller.system()
    have = {t["code"] for t in client.call("directory", "list_townships", caller=system, page={"limit": 500})}
    with contextlib.suppress(Conflict):  # an installation loaded before it had a system administrator gets one
        client.call("directory", "create_staff", caller=system, staff={**SYSTEM_ADMIN, "password": DEMO_PASSWORD})
    loaded = False
    for county in COUNTIES:
        client.call("directory", "bootstrap_county", caller=system, code=county["code"], name=county["name"])
        townships = [(i, t) for i, t in enumerate(TOWNSHIPS, start=1) if t["code"].startswith(county["code"])]
        if townships[0][1]["code"] in have:
            continue
        username, full_name = county["admin"]
        client.call("directory", "create_staff", caller=system, staff={
            "username": username, "full_name": full_name, "role": "county_admin", "county_code": county["code"],
            "password": DEMO_PASSWORD})
        for t_index, township in townships:
            _load_township(client, system, t_index, township)
        log.info("demo county %s loaded", county["name"], extra={"service": "demo"})
        loaded = True
    return loaded


def _load_township(client: RpcClient, system: Caller, t_index: int, township: dict[str, Any]) -> None:
    code = township["code"]
    prefix = township["prefix"]
    client.call("directory", "create_township", caller=system,
                township={"code": code, "name": township["name"], "hotline": township["hotline"]})
    places = [(name, "village") for name in township["villages"]]
    if township["community"]:
        places.append((township["community"], "community"))
    stations = []
    for v_index, (name, kind) in enumerate(places, start=1):
        village_code = f"{code}{v_index:03d}"
        client.call("directory", "create_village", caller=system,
                    village={"code": village_code, "township_code": code, "name": name, "kind": kind})
        station = f"ST{village_code}"
        client.call("directory", "create_station", caller=system, station={
            "code": station, "village_code": village_code, "name": f"{name}农事村办服务站",
            "address": f"{township['name']}{name}村部", "phone": f"0731-8813{t_index}{v_index:03d}"})
        stations.append(station)
    staff = [
        (f"{prefix}_supervisor", "便民服务中心主任", "supervisor", None),
        (f"{prefix}_cadre1", "驻村干部甲", "township_cadre", None),
        (f"{prefix}_cadre2", "驻村干部乙", "township_cadre", None),
        (f"{prefix}_nongji", "农技站工作人员", "department_staff", None),
        (f"{prefix}_agent1", "代办员", "village_agent", stations[0]),
        (f"{prefix}_official1", "大学生村官", "graduate_official", stations[1]),
        (f"{prefix}_committee1", "村两委委员", "village_committee", stations[-1]),
    ]
    for username, full_name, role, station in staff:
        client.call("directory", "create_staff", caller=system, staff={
            "username": username, "full_name": full_name, "role": role, "township_code": code,
            "station_code": station, "password": DEMO_PASSWORD})
    hotline = f"监督电话 {township['hotline']}，或拨打 12345 政务服务便民热线"
    for item_code, name, category, level, days, who, steps, materials in CATALOGUE:
        client.call("directory", "create_catalogue_item", caller=system, item={
            "township_code": code, "code": item_code, "name": name, "category": category,
            "handling_level": level, "eligible_applicants": who, "procedure_steps": steps,
            "required_materials": materials, "promised_days": days, "supervision_method": hotline})
    item_code, name, category, level, days, who, steps, materials = FEE_ITEM
    client.call("directory", "create_catalogue_item", caller=system, item={
        "township_code": code, "code": item_code, "name": name, "category": category, "handling_level": level,
        "eligible_applicants": who, "procedure_steps": steps, "required_materials": materials,
        "promised_days": days, "fee_yuan": "5.00",
        "fee_legal_basis": "号牌工本费按国家发展改革委、财政部核定的农机牌证收费标准收取",
        "supervision_method": hotline})
    site_code, site_name, pattern = township["market"]
    client.call("directory", "create_market_site", caller=system, site={
        "code": site_code, "township_code": code, "village_code": f"{code}001", "name": site_name,
        "location": f"{township['name']}集镇主街", "opens_at": "07:30", "closes_at": "12:00",
        "rule": {"kind": "lunar_days", "pattern": pattern, "exceptions": {"skip_lunar_new_year_days": 7}}})
