"""Figures, tables and the static report. It renders; it never computes (collect gathers its inputs).

The figures, tables and rendering load on first use (PEP 562), so that importing one light module
of the report (:mod:`bitterlab.report.verdict_words`, which the analysis uses for a verdict's words)
does not load matplotlib or Jinja. ``collect`` is imported at once: its function has its module's
name, which a lazy import would leave bound to the module.
"""

from importlib import import_module

from bitterlab.report.collect import GeometryInputs, StudyEntry, collect, geometry_inputs

_WHERE = {"results_table": "figures", "study_figure": "figures", "write_report": "render",
          "per_scale_table": "tables", "scoreboard": "tables"}

__all__ = ["GeometryInputs", "StudyEntry", "collect", "geometry_inputs", "per_scale_table", "results_table",
           "scoreboard", "study_figure", "write_report"]


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(import_module(f"bitterlab.report.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'bitterlab.report' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
