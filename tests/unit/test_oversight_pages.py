"""The supervisor's screens, their pure parts: the monthly trend drawn as SVG (a bar of each kind per month,
heights in proportion, a point per month with an on-time rate, no style attribute), tables sorted with
empty rates last, the 督办 list naming who answers and why in words, and the report's workbook and CSV
naming units by name."""
from __future__ import annotations

import csv
import io
import re
import warnings
from datetime import date

import pytest
from openpyxl import load_workbook
from pydantic import ValidationError

from gateway.pages.console_oversight import figure_row, sorted_rows, trend_chart
from gateway.pages.web import templates
from services.evaluation.adapters import reports as h
from shared.contracts import evaluation as c

MONTHS = [{"month": "2026-01", "received": 10, "completed": 8, "on_time_rate": 0.75, "satisfaction_rate": None},
          {"month": "2026-02", "received": 0, "completed": 0, "on_time_rate": None, "satisfaction_rate": None},
          {"month": "2026-03", "received": 20, "completed": 5, "on_time_rate": 1.0, "satisfaction_rate": 0.9}]


def _attributes(svg: str, tag: str) -> list[dict[str, str]]:
    return [dict(re.findall(r'([\w-]+)="([^"]*)"', found)) for found in re.findall(rf"<{tag}\b([^>]*)>", svg)]


def test_the_trend_chart_has_a_bar_of_each_kind_per_month_in_proportion():
    svg = str(trend_chart(MONTHS))
    bars = _attributes(svg, "rect")
    received = [r for r in bars if r["class"] == "bar-received"]
    completed = [r for r in bars if r["class"] == "bar-completed"]
    assert [r["data-month"] for r in received] == [m["month"] for m in MONTHS] == [r["data-month"] for r in completed]
    assert [int(r["data-value"]) for r in received] == [10, 0, 20]
    heights = [float(r["height"]) for r in received]
    assert heights[1] == 0 and abs(heights[2] - 2 * heights[0]) < 0.2  # 20 is twice as tall as 10
    assert float(completed[2]["height"]) < float(received[2]["height"])
    bottoms = {round(float(r["y"]) + float(r["height"]), 1) for r in received + completed}
    assert len(bottoms) == 1  # every bar stands on the same axis
    points = [p for p in _attributes(svg, "circle") if p["class"] == "rate-point"]
    assert [p["data-month"] for p in points] == ["2026-01", "2026-03"]  # none where nothing was completed
    assert float(points[1]["cy"]) < float(points[0]["cy"])  # 100 % above 75 %
    assert "style=" not in svg and "<script" not in svg
    assert 'role="img"' in svg and "<title" in svg and "1月" in svg and "3月" in svg and "2026年" in svg


def test_a_long_period_labels_about_twelve_months_and_still_draws_every_bar():
    months = [{"month": f"{2020 + i // 12}-{i % 12 + 1:02d}", "received": i, "completed": i // 2,
               "on_time_rate": None, "satisfaction_rate": None} for i in range(60)]
    svg = str(trend_chart(months))
    assert svg.count('class="bar-received"') == 60 and svg.count('class="bar-completed"') == 60
    assert 10 <= len(re.findall(r">\d{1,2}月</text>", svg)) <= 13
    assert 5 <= svg.count('class="tick minor"') <= 7  # every other label left out on a phone
    assert "rate-line" not in svg


def _figures(unit: str, received: int, completed: int, ratings: int = 0, satisfied: int = 0) -> dict:
    counts = {m.value: 0.0 for m in c.Metric} | {"received": received, "cohort_completed": completed,
                                                "cohort_on_time": completed, "ratings": ratings,
                                                "satisfied": satisfied}
    return {"level": "station", "unit": unit, "counts": counts,
            "completion_rate": completed / received if received else None,
            "on_time_rate": 1.0 if completed else None,
            "satisfaction_rate": satisfied / ratings if ratings else None}


def test_tables_sort_by_a_column_with_empty_rates_last():
    rows = [figure_row(_figures("A", 4, 1, 2, 2), "甲站", c.Basis.COHORT),
            figure_row(_figures("B", 0, 0), "乙站", c.Basis.COHORT),
            figure_row(_figures("C", 10, 9, 4, 1), "丙站", c.Basis.COHORT)]
    assert [r["name"] for r in sorted_rows(rows, "-received")] == ["丙站", "甲站", "乙站"]
    assert [r["name"] for r in sorted_rows(rows, "completion_rate")] == ["甲站", "丙站", "乙站"]
    assert [r["name"] for r in sorted_rows(rows, "-satisfaction_rate")] == ["甲站", "丙站", "乙站"]
    assert [r["name"] for r in sorted_rows(rows, "-completion_rate")] == ["丙站", "甲站", "乙站"]
    assert sorted_rows(rows, None) == rows
    assert rows[2]["completed"] == 9 and rows[2]["metric_completed"] == "cohort_completed"
    assert figure_row(_figures("C", 10, 9), "丙站", c.Basis.FLOW)["metric_completed"] == "completed"


def test_the_supervision_list_names_who_answers_for_each_notice_and_why():
    from gateway.pages import words

    notice = {"id": 1, "kind": "supervision", "application_id": "x", "receipt_no": "431099101-20261101-0001",
              "township_code": "431099101", "deadline_kind": "step", "step_name": "review", "due_on": "2026-11-20",
              "recorded_at": "2026-11-21T01:00:00+00:00", "responsible_staff_id": 7,
              "responsible_basis": "supervisor", "accountable_staff_id": 6}
    html = templates.env.get_template("console/supervision.html").render(
        csrf_token="t", staff=None, townships=[], chosen="431099101", done=None, common={"township": None},
        lists={"supervision": {"rows": [notice], "more": None, "first": False},
               "accountability": {"rows": [{**notice, "kind": "accountability", "responsible_basis": "claimed",
                                            "id": 2}], "more": None, "first": False}},
        overdue=[], next_cases=None, first_cases=None, complaints=[], alerts=[], villages={}, stations={},
        people={7: "便民服务中心主任", 6: "代办员"}, basis_words=words.RESPONSIBLE,
        rule_words=words.ALERT_RULE, categories=words.COMPLAINT_CATEGORY, may_acknowledge=True)
    assert html.count("便民服务中心主任") == 2 and "代办员" in html
    assert words.RESPONSIBLE["supervisor"] in html and words.RESPONSIBLE["claimed"] in html
    assert "审核环节期限" in html and "2026年11月20日" in html and "review" not in html


def _supervision(every: bool, rows: list[dict]) -> str:
    from gateway.pages import words

    return templates.env.get_template("console/supervision.html").render(
        csrf_token="t", staff=None, townships=[], chosen="431099101", done=None, common={"township": None},
        every_notice=every, notice_toggle="/console/supervision" + ("" if every else "?notices=all"),
        lists={"supervision": {"rows": rows, "more": None, "first": False},
               "accountability": {"rows": [], "more": None, "first": False}},
        overdue=[], next_cases=None, first_cases=None, complaints=[], alerts=[], villages={}, stations={},
        people={}, basis_words=words.RESPONSIBLE, rule_words=words.ALERT_RULE,
        categories=words.COMPLAINT_CATEGORY, may_acknowledge=True)


def test_the_supervision_list_shows_open_notices_with_a_toggle_and_each_ones_state():
    notice = {"id": 1, "kind": "supervision", "application_id": "x", "receipt_no": "431099101-20261101-0001",
              "township_code": "431099101", "deadline_kind": "step", "step_name": "review", "due_on": "2026-11-20",
              "recorded_at": "2026-11-21T01:00:00+00:00", "responsible_staff_id": 7,
              "responsible_basis": "supervisor", "accountable_staff_id": 6, "closed_at": None}
    open_only = _supervision(False, [notice])
    assert "只显示未结束的督办通知" in open_only and 'href="/console/supervision?notices=all#notices-supervision"' \
        in open_only and "也看已结束的" in open_only
    assert '<td data-label="状态"><span class="bad">未结束</span>' in open_only
    assert "没有未结束的督办通知" in _supervision(False, [])
    every = _supervision(True, [{**notice, "closed_at": "2026-11-24T02:00:00+00:00"}, {**notice, "id": 2}])
    assert "显示全部督办通知" in every and "只看未结束的" in every
    assert "已结束</span>（2026年11月24日 10:00）" in every and "未结束" in every


def _report() -> c.TownshipReport:
    period = {"start": date(2026, 1, 1), "end": date(2026, 6, 30)}

    def figures(level: c.Level, unit: str) -> c.Figures:
        counts = {m: 0.0 for m in c.Metric} | {c.Metric.RECEIVED: 3.0}
        return c.Figures(level=level, unit=unit, township_code="431099101", counts=counts, completion_rate=0.0,
                         on_time_rate=None, satisfaction_rate=None, average_working_days=None, **period)

    return c.TownshipReport(
        township_code="431099101", township_name="青石镇", summary="今年以来……", months=[],
        township=figures(c.Level.TOWNSHIP, "431099101"), stations=[figures(c.Level.STATION, "ST431099101001")],
        villages=[figures(c.Level.VILLAGE, "431099101001"), figures(c.Level.VILLAGE, "431099101009")],
        staff=[figures(c.Level.STAFF, "6")], **period)


def test_the_reports_files_name_each_unit_and_keep_its_code_beside_it():
    names = c.ReportNames(stations={"ST431099101001": "石门村农事村办服务站"}, villages={"431099101001": "石门村"},
                          staff={"6": "代办员"})
    book = load_workbook(io.BytesIO(h.report_xlsx(_report(), names)))
    rows = {sheet: list(book[sheet].iter_rows(values_only=True)) for sheet in ("乡镇", "服务站", "行政村", "工作人员")}
    assert rows["乡镇"][1][0] == "青石镇" and rows["服务站"][1][0] == "石门村农事村办服务站"
    assert [r[0] for r in rows["行政村"][1:]] == ["石门村", "431099101009"]  # a village without a name keeps its code
    assert rows["工作人员"][1][0] == "代办员" and rows["工作人员"][1][-1] == "6" and rows["工作人员"][0][-1] == "编号"
    assert rows["服务站"][1][1] == 3  # the figures stay where they were
    lines = list(csv.reader(io.StringIO(h.report_csv(_report(), names))))
    assert lines[0][1] == "单位" and [line[1] for line in lines[1:]] == [
        "青石镇", "石门村农事村办服务站", "石门村", "431099101009", "代办员"]
    unnamed = load_workbook(io.BytesIO(h.report_xlsx(_report())))
    assert list(unnamed["服务站"].iter_rows(values_only=True))[1][0] == "ST431099101001"


def test_the_reports_csv_speaks_the_workbooks_words():
    """The CSV has the workbook's headers (one table for both), levels and basis in words, names not codes."""
    names = c.ReportNames(stations={"ST431099101001": "石门村农事村办服务站"}, villages={"431099101001": "石门村"},
                          staff={"6": "代办员"})
    book = load_workbook(io.BytesIO(h.report_xlsx(_report(), names)))
    sheet_header = list(next(book["服务站"].iter_rows(values_only=True)))
    lines = list(csv.reader(io.StringIO(h.report_csv(_report(), names))))
    assert lines[0] == ["层级", *sheet_header, "开始日期", "结束日期", "统计口径"]
    assert not [word for word in lines[0] if re.search(r"[A-Za-z]", word)], lines[0]
    assert lines[0][2:5] == ["受理数", "办结数", "按期办结"] and "承诺期限兑现率" in lines[0]
    assert [line[0] for line in lines[1:]] == ["乡镇", "服务站", "行政村", "行政村", "工作人员"]
    station = dict(zip(lines[0], lines[2], strict=True))
    assert station["单位"] == "石门村农事村办服务站" and station["编号"] == "ST431099101001"
    assert station["受理数"] == "3" and station["办结率"] == "0.0" and station["群众满意率"] == ""
    assert station["开始日期"] == "2026-01-01" and station["统计口径"] == "按期内受理的办件统计"
    assert all(len(line) == len(lines[0]) for line in lines)


def test_the_trend_chart_file_is_labelled_in_chinese_with_a_cjk_font():
    """The PNG chart's words are Chinese, drawn with a CJK font (no glyph missing); the project's set-up
    installs one (deploy/scripts/local-servers.sh, the image)."""
    if h.cjk_font() is None:
        pytest.skip("no CJK font on this machine: deploy/scripts/local-servers.sh installs fonts-wqy-microhei")
    report = _report().model_copy(update={"months": [c.MonthFigures(**m) for m in MONTHS]})
    figure = h.trend_figure(report)
    axes, rates = figure.axes
    said = [axes.get_title(), axes.get_ylabel(), rates.get_ylabel(),
            *[t.get_text() for t in axes.get_legend().get_texts()]]
    assert said == ["青石镇：2026-01-01 至 2026-06-30", "申请件数", "承诺期限兑现率", "受理数", "办结数",
                    "承诺期限兑现率"]
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*missing from font.*")
        png = h.trend_png(report)
    assert png.startswith(b"\x89PNG")


def test_report_names_refuse_what_is_not_a_code():
    with pytest.raises(ValidationError):
        c.ReportNames(staff={"not a code!": "x"})
