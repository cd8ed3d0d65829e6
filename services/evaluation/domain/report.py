"""The summary a township writes about itself, in its own words, built from the figures. The shape is
the seed town's: "今年以来，全镇各服务站共开展六大服务活动510次，共为群众办实事370件，接待群众来访、
咨询800多人次，受理群众申请事项415件，已办结390件" — with the rates beside it. Pure."""
from __future__ import annotations

from datetime import date

from shared.contracts.evaluation import Basis, Figures, Metric


def period_phrase(start: date, end: date, today: date) -> str:
    if start == date(end.year, 1, 1) and end >= today >= start:
        return "今年以来"
    if start == date(start.year, 1, 1) and end == date(start.year, 12, 31):
        return f"{start.year}年"
    return f"{start.year}年{start.month}月{start.day}日至{end.year}年{end.month}月{end.day}日"


def _whole(value: float) -> str:
    return str(int(round(value)))


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def township_summary(township_name: str, figures: Figures, today: date) -> str:
    """全镇 for a town 镇, 全乡 for a township 乡 (and 全街道 for a subdistrict). The applications are said
    the way the figures count them: a cohort "受理…N件，已办结M件" (M of those N, so never more); a flow
    "受理…N件，期内办结申请事项M件（含此前受理的）", with no completion rate (M is not a share of N)."""
    whole = "全街道" if township_name.endswith("街道") else "全乡" if township_name.endswith("乡") else "全镇"
    n = figures.counts
    if figures.basis is Basis.FLOW:
        applications = (f"受理群众申请事项{_whole(n[Metric.RECEIVED])}件，"
                        f"期内办结申请事项{_whole(n[Metric.COMPLETED])}件（含此前受理的）")
        rates = ""
    else:
        applications = f"受理群众申请事项{_whole(n[Metric.RECEIVED])}件，已办结{_whole(n[Metric.COHORT_COMPLETED])}件"
        rates = f"办结率{_percent(figures.completion_rate)}，"
    sentence = (f"{period_phrase(figures.start, figures.end, today)}，{whole}各服务站共开展六大服务活动"
                f"{_whole(n[Metric.SERVICE_ACTIVITIES])}次，共为群众办实事{_whole(n[Metric.PRACTICAL_DEEDS])}件，"
                f"接待群众来访、咨询{_whole(n[Metric.CONSULTATIONS])}人次，{applications}")
    rates += f"承诺期限兑现率{_percent(figures.on_time_rate)}，群众满意率{_percent(figures.satisfaction_rate)}"
    return f"{sentence}（{rates}）。"
