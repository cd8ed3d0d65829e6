"""The market console's words: a site's market-day rule as villagers say it, a generated roster's fairness
summary (who got how many posts), what a recorded leave means, and why a cadre is on a roster."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from gateway.pages.console_market import (
    day_words,
    fairness,
    handled_words,
    leave_effect,
    lunar_day_name,
    roster_reason,
    rule_words,
)
from shared.contracts.directory import MarketDayRule


def words_of(**rule) -> str:
    """A rule as the directory returns it (validated and completed by the contract), in words."""
    return rule_words(MarketDayRule.model_validate(rule).model_dump(mode="json"))


@pytest.mark.parametrize(("pattern", "said"), [("逢一四七", "逢一四七"), ("逢二五八", "逢二五八"),
                                               ("逢三六九", "逢三六九"), ("逢单", "逢单"), ("逢双", "逢双")])
def test_a_lunar_pattern_is_said_as_its_name(pattern, said):
    assert words_of(kind="lunar_days", pattern=pattern) == f"{said}（农历）"


def test_lunar_days_without_a_pattern_name_the_cycle_they_are():
    assert words_of(kind="lunar_days", days=[1, 4, 7, 11, 14, 17, 21, 24, 27]) == "逢一四七（农历）"
    assert words_of(kind="lunar_days", days=[3, 13, 23]) == "逢三（农历）"
    assert words_of(kind="lunar_days", days=[5, 10, 15, 20, 25, 30]) == "逢五逢十（农历）"
    assert words_of(kind="lunar_days", days=list(range(1, 30, 2))) == "逢单（农历）"


def test_lunar_days_that_are_no_cycle_are_named_as_days_of_the_lunar_month():
    assert words_of(kind="lunar_days", days=[1, 15]) == "农历每月初一、十五"
    assert words_of(kind="lunar_days", days=[10, 20, 21, 30]) == "农历每月初十、二十、廿一、三十"
    assert words_of(kind="lunar_days", days=[1, 4, 7]) == "农历每月初一、初四、初七"  # not every 一四七


def test_solar_and_weekly_rules():
    assert words_of(kind="solar_days", days=[5, 15, 25]) == "逢五（公历）"
    assert words_of(kind="solar_days", days=[3, 18]) == "公历每月3日、18日"
    assert words_of(kind="solar_days", days=[1, 11, 21]) == "公历每月1日、11日、21日"  # the 31st is not among them
    assert words_of(kind="weekly", weekdays=[1, 4]) == "每周二、周五"
    assert words_of(kind="weekly", weekdays=[6]) == "每周日"
    assert words_of(kind="weekly", weekdays=list(range(7))) == "每天"
    assert words_of(kind="dates", dates=["2027-01-08", "2026-12-25"]) == "只在这些日子：2026年12月25日、2027年1月8日"


def test_exceptions_follow_the_rule():
    said = words_of(kind="lunar_days", pattern="逢一四七", exceptions={
        "skip_lunar_new_year_days": 7, "skip_dates": ["2026-12-25"], "add_dates": ["2027-01-01"]})
    assert said == "逢一四七（农历）；正月初一至初七休市；2026年12月25日不赶集；另在2027年1月1日赶集"
    assert words_of(kind="lunar_days", pattern="逢双", exceptions={"skip_lunar_new_year_days": 1}) == \
        "逢双（农历）；正月初一休市"
    assert words_of(kind="lunar_days", pattern="逢单", exceptions={"skip_lunar_new_year_days": 15}) == \
        "逢单（农历）；正月初一至十五休市"
    many = words_of(kind="weekly", weekdays=[0], exceptions={"skip_dates": [f"2026-12-{d:02d}" for d in range(1, 9)]})
    assert many.endswith("2026年12月6日等 8 天不赶集")


def test_lunar_day_names():
    assert [lunar_day_name(n) for n in (1, 9, 10, 11, 19, 20, 21, 29, 30)] == [
        "初一", "初九", "初十", "十一", "十九", "二十", "廿一", "廿九", "三十"]
    assert day_words("2026-12-06") == "12月6日（周日）" and day_words(date(2026, 12, 7)) == "12月7日（周一）"
    assert day_words("2027-01-01", year=True) == "2027年1月1日（周五）"


NAMES = {3: "驻村干部甲", 4: "驻村干部乙", 5: "农技站工作人员", 9: "便民服务中心主任"}


def session(day: str, *staff: int, status: str = "scheduled") -> dict:
    return {"day": day, "status": status, "roster": [{"staff_id": s} for s in staff]}


def test_the_fairness_summary_says_who_got_how_many_posts():
    sessions = [session("2026-12-09", 3, 4), session("2026-12-12", 5, 3), session("2026-12-15", 4, 5),
                session("2026-12-19", 3, status="cancelled")]
    lines = fairness(sessions, [3, 4, 5], 2, NAMES)
    assert lines[0] == "12月9日（周三）至12月15日（周二）共 3 场，每场排 2 人。"
    assert lines[1] == "各人值岗次数：农技站工作人员 2 次、驻村干部乙 2 次、驻村干部甲 2 次。"
    assert lines[2] == "每人次数相同，很公平。" and len(lines) == 3


def test_the_fairness_summary_names_the_gap_those_left_out_and_the_posts_short_of_people():
    sessions = [session("2026-12-09", 3, 9), session("2026-12-12", 3), session("2026-12-15", 3)]
    lines = fairness(sessions, [3, 4], 2, NAMES)
    assert "驻村干部甲 3 次" in lines[1] and "驻村干部乙 0 次" in lines[1] and "便民服务中心主任 1 次" in lines[1]
    assert lines[2].startswith("次数最多的比最少的多 3 次") and "请假" in lines[2]
    assert lines[3].startswith("有 2 场人手不够（12月12日（周六）、12月15日（周二）")
    assert fairness([], [3], 1, NAMES) == ["这段时间没有可以排班的场次：请先生成场次（已过去和已取消的场次不排班）。"]


def test_a_leave_names_the_posts_to_hand_over():
    posts = [{"day": "2026-12-12", "site_code": "QS-JISHI"}]
    lines = leave_effect("驻村干部甲", date(2026, 12, 10), date(2026, 12, 13), "病假", posts,
                         {"QS-JISHI": "青石镇老街集市"})
    assert lines[0] == "已记录：驻村干部甲 12月10日（周四）至12月13日（周日）请假（病假）。"
    assert lines[1] == "请假期间驻村干部甲还排在 1 场服务岗：12月12日（周六）青石镇老街集市。请点开这些场次换人。"
    alone = leave_effect("驻村干部乙", date(2026, 12, 10), date(2026, 12, 10), "事假", [], {})
    assert alone[0] == "已记录：驻村干部乙 12月10日（周四）请假（事假）。" and "没有排驻村干部乙" in alone[1]


def test_why_a_cadre_is_on_the_roster():
    assert roster_reason("rotation", NAMES) == "轮换排班"
    assert roster_reason("swap for 3: 家中有事", NAMES) == "替换驻村干部甲：家中有事"
    assert roster_reason(None, NAMES) == "手动安排"
    assert roster_reason("赶集人多，加一人", NAMES) == "赶集人多，加一人"


def test_what_a_session_handled_is_said_or_why_nothing_is():
    """The 现场办理 column: counted by kind, else 尚未开始 / going on / nothing recorded / not held."""
    session = {"status": "scheduled", "starts_at": "2026-12-05T00:00:00+00:00", "ends_at": "2026-12-05T04:00:00+00:00",
               "linked": []}
    before, during, after = (datetime(2026, 12, 4, 23, tzinfo=UTC), datetime(2026, 12, 5, 1, tzinfo=UTC),
                             datetime(2026, 12, 5, 5, tzinfo=UTC))
    assert handled_words(session, before) == "尚未开始"
    assert handled_words(session, during) == "正在进行，还没有登记办理的事"
    assert handled_words(session, after) == "这一场没有登记办理的事"
    assert handled_words({**session, "status": "cancelled"}, before) == "不开展"
    linked = [{"kind": "application", "ref": "a"}, {"kind": "consultation", "ref": "1"},
              {"kind": "application", "ref": "b"}]
    assert handled_words({**session, "linked": linked}, after) == "受理申请 2 件、接待咨询 1 人次"
