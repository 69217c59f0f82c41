"""The built-in studies, one module each, registered by name."""

from __future__ import annotations

from bitterlab.study import Study
from bitterlab.studies import (equivariance, generative, grammar, locality, locality_rules, metric_loss, positions,
                               search, seasonal, synthetic)
from bitterlab.studies.load import StudyRefError, resolve

STUDIES: dict[str, Study] = {s.name: s for s in (
    seasonal.STUDY, positions.STUDY, equivariance.STUDY, metric_loss.STUDY, generative.STUDY, grammar.STUDY,
    search.STUDY, synthetic.STUDY, locality.STUDY, locality_rules.STUDY)}


def get_study(name: str) -> Study:
    """A built-in study by name; ``KeyError`` with the known names otherwise."""
    try:
        return STUDIES[name]
    except KeyError:
        raise KeyError(f"unknown study {name!r} (known: {', '.join(STUDIES)})") from None


__all__ = ["STUDIES", "StudyRefError", "get_study", "resolve"]
