"""Evaluation use cases, gathered under the one name the service (and the command line) calls them by. Each
family lives in its own module: counting (each event logged, turned into facts and added to the daily totals;
the rebuild that replays the log), figures (any unit's figures and the records behind them), ratings 好差评,
rankings (the county's weights, scores, ranks and honour lists) and the township's report. Each takes
evaluation's unit of work and asks its repositories for rows. Importing this loads neither matplotlib nor
openpyxl: a report's file is rendered by adapters/reports.py, loaded when one is asked for."""
from services.evaluation.service_layer.counting import apply_event, keep_township, rebuild, record_event
from services.evaluation.service_layer.figures import figures, records, unit_figures, update_gauges
from services.evaluation.service_layer.rankings import (
    honour_lists,
    ranking,
    score_settings,
    set_score_settings,
    settings_county,
)
from services.evaluation.service_layer.ratings import follow_up, get_rating, rate, sweep
from services.evaluation.service_layer.reports import report_csv, report_xlsx, township_report, trend_png
from shared.contracts import evaluation as c

__all__ = ["apply_event", "c", "figures", "follow_up", "get_rating", "honour_lists", "keep_township", "ranking",
           "rate", "rebuild", "record_event", "records", "report_csv", "report_xlsx", "score_settings",
           "set_score_settings", "settings_county", "sweep", "township_report", "trend_png", "unit_figures",
           "update_gauges"]
