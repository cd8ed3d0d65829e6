"""The township's report as files: CSV, an .xlsx workbook (openpyxl) and the monthly trend as a PNG chart
(matplotlib). Heavy libraries, imported only when a file is asked for (the service layer's `report_csv`,
`report_xlsx` and `trend_png` load this module on first use), so counting never pays for them."""
from __future__ import annotations

import csv
import functools
import io
from pathlib import Path
from typing import Any

from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import MaxNLocator, PercentFormatter
from openpyxl import Workbook

from shared.contracts import evaluation as c


def unit_name(report: c.TownshipReport, names: c.ReportNames | None, row: c.Figures) -> str:
    """What a report's file calls a unit: the township's name, a station's, village's or staff member's
    name from `names`, or its code when none was given."""
    if row.level is c.Level.TOWNSHIP:
        return report.township_name
    known = {c.Level.STATION: names.stations, c.Level.VILLAGE: names.villages,
             c.Level.STAFF: names.staff}.get(row.level, {}) if names else {}
    return known.get(str(row.unit), str(row.unit))


# The report's words: one table for the workbook and the CSV alike (headers, levels, the basis).
BASIS_WORDS = {c.Basis.COHORT: "按期内受理的办件统计", c.Basis.FLOW: "按期内发生的办理统计"}
LEVEL_WORDS = {c.Level.TOWNSHIP: "乡镇", c.Level.STATION: "服务站", c.Level.VILLAGE: "行政村",
               c.Level.STAFF: "工作人员", c.Level.COUNTY: "县"}
LEVEL_SHEETS = {"township": c.Level.TOWNSHIP, "stations": c.Level.STATION, "villages": c.Level.VILLAGE,
                "staff": c.Level.STAFF}
METRIC_NAMES = {"received": "受理数", "completed": "办结数", "on_time": "按期办结", "completed_late": "超期办结",
                "working_days": "办理工作日合计",
                "overdue": "超期", "ratings": "评价数", "satisfied": "满意数", "substantiated": "被投诉属实",
                "sessions_attended": "赶集坐班到岗", "sessions_missed": "赶集坐班缺岗", "visits_made": "下访次数",
                "visits_missed": "下访缺席", "consultations": "接待来访咨询人次", "service_activities": "服务活动",
                "practical_deeds": "办实事", "complaints": "投诉", "cohort_completed": "期内受理已办结",
                "cohort_on_time": "期内受理按期办结", "cohort_working_days": "期内受理办理工作日合计",
                "steps_handled": "经办环节", "steps_on_time": "经办环节按期", "accountability": "责任追究记录"}
RATE_NAMES = {"completion_rate": "办结率", "on_time_rate": "承诺期限兑现率", "satisfaction_rate": "群众满意率",
              "average_working_days": "平均办理工作日", "step_on_time_rate": "经办环节按期率"}
UNIT_HEADER = ["单位", *[METRIC_NAMES[m.value] for m in c.Metric], *RATE_NAMES.values(), "编号"]


def unit_cells(report: c.TownshipReport, names: c.ReportNames | None, row: c.Figures) -> list[Any]:
    """A unit's cells under UNIT_HEADER: its name, its counts, its rates (None where nothing is under one),
    its code."""
    return [unit_name(report, names, row), *[_number(row.counts[m]) for m in c.Metric],
            *[getattr(row, rate) for rate in RATE_NAMES], row.unit]


def report_csv(report: c.TownshipReport, names: c.ReportNames | None = None) -> str:
    """The report's figures as CSV in the workbook's words: one row per unit (the township, then its stations,
    villages, staff), each with its level (乡镇 …), the workbook's columns (the unit by name, its figures, its
    code), then the period and the basis in words. The gateway sends it as UTF-8 with a BOM, which Excel on
    Windows needs to read it as UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["层级", *UNIT_HEADER, "开始日期", "结束日期", "统计口径"])
    for row in [report.township, *report.stations, *report.villages, *report.staff]:
        writer.writerow([LEVEL_WORDS[row.level], *["" if v is None else v for v in unit_cells(report, names, row)],
                         row.start, row.end, BASIS_WORDS[row.basis]])
    return out.getvalue()


def report_xlsx(report: c.TownshipReport, names: c.ReportNames | None = None) -> bytes:
    """The report as a workbook: the summary, then one sheet per level (township, stations, villages,
    staff), each unit by its name (its code in the last column), then the months."""
    book = Workbook()
    summary = book.active
    summary.title = "汇总"
    summary.append([report.township_name, f"{report.start} 至 {report.end}", BASIS_WORDS[report.basis]])
    summary.append([report.summary])
    for key, level in LEVEL_SHEETS.items():
        sheet = book.create_sheet(LEVEL_WORDS[level])
        sheet.append(UNIT_HEADER)
        for row in [report.township] if key == "township" else getattr(report, key):
            sheet.append(unit_cells(report, names, row))
    months = book.create_sheet("月度趋势")
    months.append(["月份", "受理数", "办结数", "承诺期限兑现率", "群众满意率"])
    for m in report.months:
        months.append([m.month, m.received, m.completed, m.on_time_rate, m.satisfaction_rate])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# The chart speaks Chinese with a CJK font of the OS (Debian's fonts-wqy-microhei, installed by the image and
# by deploy/scripts/local-servers.sh); without one it falls back to English rather than draw empty boxes.
CJK_FONT_FILES = ("wqy-microhei.ttc", "NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf", "wqy-zenhei.ttc")
CHART_WORDS = {
    True: {"received": "受理数", "completed": "办结数", "count": "申请件数", "on_time": "承诺期限兑现率"},
    False: {"received": "received", "completed": "completed", "count": "applications", "on_time": "on-time rate"},
}


@functools.cache
def cjk_font() -> FontProperties | None:
    """The first CJK font found among the OS's fonts, or None."""
    found = {Path(path).name: path for path in font_manager.findSystemFonts()}
    return next((FontProperties(fname=found[name]) for name in CJK_FONT_FILES if name in found), None)


def trend_figure(report: c.TownshipReport) -> Figure:
    """The monthly trend as a chart: applications received and completed per month, and the on-time rate,
    labelled in Chinese where a CJK font is installed."""
    font = cjk_font()
    said = CHART_WORDS[font is not None]
    figure = Figure(figsize=(8, 4), dpi=100)
    axes = figure.add_subplot()
    months = [m.month for m in report.months]
    positions = range(len(months))
    axes.bar([p - 0.2 for p in positions], [m.received for m in report.months], width=0.4, label=said["received"])
    axes.bar([p + 0.2 for p in positions], [m.completed for m in report.months], width=0.4,
             label=said["completed"])
    axes.set_xticks(list(positions), months, rotation=45, fontsize=8)
    axes.set_ylabel(said["count"], fontproperties=font)
    rate_axes = axes.twinx()
    rate_axes.plot(list(positions), [m.on_time_rate for m in report.months], color="black", marker="o",
                   label=said["on_time"])
    rate_axes.set_ylim(0, 1.05)
    rate_axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    rate_axes.set_ylabel(said["on_time"], fontproperties=font)
    title = f"{report.township_name}：{report.start} 至 {report.end}" if font else \
        f"{report.township_code}: {report.start} - {report.end}"
    axes.set_title(title, fontproperties=font)
    handles = axes.get_legend_handles_labels()
    lines = rate_axes.get_legend_handles_labels()
    legend = font.copy() if font else FontProperties()
    legend.set_size(8)
    axes.legend(handles[0] + lines[0], handles[1] + lines[1], loc="upper left", prop=legend)
    figure.tight_layout()
    return figure


def trend_png(report: c.TownshipReport) -> bytes:
    out = io.BytesIO()
    FigureCanvasAgg(trend_figure(report)).print_png(out)
    return out.getvalue()


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


