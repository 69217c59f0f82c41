"""Figures, tables and the static report. It renders; it never computes (collect gathers its inputs)."""

from bitterlab.report.collect import GeometryInputs, StudyEntry, collect, geometry_inputs
from bitterlab.report.figures import results_table, study_figure
from bitterlab.report.render import write_report
from bitterlab.report.tables import per_scale_table, scoreboard

__all__ = ["GeometryInputs", "StudyEntry", "collect", "geometry_inputs", "per_scale_table", "results_table",
           "scoreboard", "study_figure", "write_report"]
