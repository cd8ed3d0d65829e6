"""The composite score and what is made of it: the weights a county sets, every unit of a level scored
and ranked, and the honour lists (表彰 and 责任追究) with the records behind each entry."""
from __future__ import annotations

from datetime import datetime

from services.evaluation.adapters.repositories import EvaluationUnitOfWork
from services.evaluation.domain.scores import commendable, components, rank, score
from services.evaluation.service_layer.figures import records, unit_figures
from shared.contracts import evaluation as c
from shared.contracts.caller import Caller, Role
from shared.divisions import county_of
from shared.errors import Forbidden, NotFound


def score_settings(uow: EvaluationUnitOfWork, county: str | None = None) -> c.ScoreSettings:
    """The weights a county's scores are made with (完善考评制度: "weights the county sets"): its own once it
    has set them, else the installation's default, else the built-in one."""
    row = uow.score_settings.of_county(county) if county else None
    row = row or uow.score_settings.installation()
    return c.ScoreSettings.model_validate(row.settings) if row else c.ScoreSettings()


def settings_county(caller: Caller, county_code: str | None) -> str | None:
    """Whose weights a call reads or sets: the county named (the system administrator's choice; another
    county's is not found), else the caller's own; None: the installation's default."""
    if county_code is not None and not caller.sees_county(county_code):
        raise NotFound("no such county here", code="county_not_found")
    return county_code or caller.county


def set_score_settings(uow: EvaluationUnitOfWork, *, caller: Caller, cmd: c.ScoreSettings, now: datetime,
                       county_code: str | None = None) -> c.ScoreSettings:
    """A county admin sets its county's weights; the system administrator the installation's default, or
    a county's it names. Other counties keep theirs."""
    if not caller.is_county:
        raise Forbidden("the county sets the weights of the score", code="not_county")
    county = settings_county(caller, county_code)
    values = {"settings": cmd.model_dump(mode="json"), "updated_by": caller.staff_id, "updated_at": now}
    if county is None:
        uow.score_settings.set_installation(values)
    else:
        uow.score_settings.set_county(county, values)
    uow.commit()
    return score_settings(uow, county)


def ranking(uow: EvaluationUnitOfWork, *, caller: Caller, query: c.RankingQuery) -> c.Ranking:
    """Every unit of a level within a township (or, for townships, across the county), scored; ranked
    when it has the minimum sample (applications received; for a staff member, with the review steps
    they handled), shown but not ranked otherwise."""
    if caller.role is Role.PUBLIC:
        raise NotFound("no ranking here", code="unit_not_found")
    if query.township_code is None and not caller.is_county:
        raise Forbidden("rankings across the county are for the county's roles", code="not_county")
    if query.township_code is not None and not caller.sees_township(query.township_code):
        raise NotFound("no ranking here", code="unit_not_found")
    settings = score_settings(uow, county_of(query.township_code) if query.township_code else caller.county)
    scored = []
    staff = query.level is c.Level.STAFF
    for figures_ in unit_figures(uow, query.level, query.township_code, query.start, query.end, query.basis,
                                 within=caller):
        parts = components(figures_.counts, query.basis, staff=staff)
        scored.append((figures_.unit, figures_.township_code, score(parts, settings), parts,
                       int(figures_.counts[c.Metric.RECEIVED]), figures_))
    ranks = rank([(unit, value, received + (int(f_.counts[c.Metric.STEPS_HANDLED]) if staff else 0))
                  for unit, _, value, _, received, f_ in scored], settings.min_sample)
    units = [c.ScoredUnit(unit=unit, township_code=township, score=value, components=parts, received=received,
                          rank=ranks[unit], figures=figures_)
             for unit, township, value, parts, received, figures_ in scored]
    units.sort(key=lambda x: (x.rank is None, x.rank or 0, -(x.score or 0), x.unit))
    return c.Ranking(level=query.level, township_code=query.township_code, start=query.start, end=query.end,
                     settings=settings, units=units, basis=query.basis)


def honour_lists(uow: EvaluationUnitOfWork, *, caller: Caller, query: c.RankingQuery) -> c.HonourLists:
    """责任追究: a ranked score below the line, a substantiated complaint, and — for a staff member — the
    责任追究 records approvals made against them (whoever held the late step), for a station, village or
    township too many overdue items; 表彰: a rank within the top share (`commendable`), and never
    anyone on the accountability list. Each entry with the records behind it."""
    ranked = ranking(uow, caller=caller, query=query)
    settings = ranked.settings
    period = {"start": query.start, "end": query.end}

    def behind(unit: str, *metrics: c.Metric) -> list[c.FactView]:
        return [fact for metric in metrics for fact in records(uow, caller=caller, query=c.RecordsQuery(
            metric=metric, level=query.level, unit=unit, limit=200, **period))]

    accountability = []
    for x in ranked.units:
        reasons = []
        if x.rank is not None and x.score is not None and x.score < settings.accountability_below:
            reasons.append(f"综合得分{x.score:.2f}，低于{settings.accountability_below:.2f}")
        if query.level is c.Level.STAFF:
            late = c.Metric.ACCOUNTABILITY
            if recorded := int(x.figures.counts[late]):
                reasons.append(f"责任追究记录{recorded}件")
        else:
            late = c.Metric.OVERDUE
            if (overdue := int(x.figures.counts[late])) >= settings.accountability_overdue:
                reasons.append(f"超期办件{overdue}件")
        substantiated = int(x.figures.counts[c.Metric.SUBSTANTIATED])
        if substantiated:
            reasons.append(f"被投诉属实{substantiated}件")
        if reasons:
            accountability.append(c.HonourEntry(unit=x.unit, township_code=x.township_code, score=x.score,
                                                reasons=reasons, records=behind(x.unit, late,
                                                                                c.Metric.SUBSTANTIATED)))
    accountable = {entry.unit for entry in accountability}
    top = commendable({x.unit: x.rank for x in ranked.units}, settings)
    commendation = [c.HonourEntry(unit=x.unit, township_code=x.township_code, score=x.score,
                                  reasons=[f"第{x.rank}名，综合得分{x.score:.2f}"],
                                  records=behind(x.unit, c.Metric.SATISFIED))
                    for x in ranked.units if x.unit in top and x.unit not in accountable]
    return c.HonourLists(level=query.level, township_code=query.township_code, start=query.start, end=query.end,
                         commendation=commendation, accountability=accountability, basis=query.basis)


