"""Pure functions over the results table: comparisons, curve fits with bootstrap intervals, verdicts."""

from bitterlab.analysis.bootstrap import Replicates, interval, replicates
from bitterlab.analysis.compare import ScaleComparison, per_scale, t_interval
from bitterlab.analysis.families import FAMILIES, Family, get_family
from bitterlab.analysis.fit import fit_two_axis, two_axis_summary
from bitterlab.analysis.results import (Comparison, Crossover, ExchangeRate, FitReport, FitSummary, Interval,
                                        Verdict)
from bitterlab.analysis.scaling import (ContenderFit, Points, compare, fit_band, fit_contender, fit_points,
                                        fit_summary, points, select_family)
from bitterlab.analysis.verdict import fit_task, pick_budget, task_verdict, verdict

__all__ = ["FAMILIES", "Comparison", "ContenderFit", "Crossover", "ExchangeRate", "Family", "FitReport", "FitSummary",
           "Interval", "Points", "Replicates", "ScaleComparison", "Verdict", "compare",
           "fit_band", "fit_contender", "fit_points", "fit_summary", "fit_task", "fit_two_axis",
           "get_family", "interval", "per_scale", "pick_budget", "points", "replicates", "select_family",
           "t_interval", "task_verdict", "two_axis_summary", "verdict"]
