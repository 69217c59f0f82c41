"""Pure functions over the results table: comparisons, fits, verdicts."""

from bitterlab.analysis.compare import ScaleComparison, bootstrap_mean_interval, per_scale
from bitterlab.analysis.verdict import pick_budget, task_verdict, verdict

__all__ = ["ScaleComparison", "bootstrap_mean_interval", "per_scale", "pick_budget", "task_verdict", "verdict"]
