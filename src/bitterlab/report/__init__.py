"""Figures and the static report. It renders; it never computes."""

from bitterlab.report.figures import results_table, study_figure
from bitterlab.report.render import write_report

__all__ = ["results_table", "study_figure", "write_report"]
