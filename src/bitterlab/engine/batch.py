"""Grouping trials for batched execution: trials of a study with ``run_batch`` that differ only by
seed and by their point of the contender's tuning grid (same task, contender, scale, budget, other
options and device) form one group, run as one batched model (each member with its own seed, its
own tuned options such as the learning rate, and its own early stop); every other trial is a group
of its own."""

from __future__ import annotations

import json
from collections.abc import Sequence

from bitterlab.study import Trial


def batch_key(trial: Trial) -> tuple:
    """Trials with equal keys run together: by default those that differ only by seed and tuned point;
    a study's own ``batch_key`` (e.g. trials sharing one trained model) replaces that rule within the study."""
    if trial.batch_key is not None:
        return (trial.study, trial.version, trial.budget, trial.device, trial.batch_key(trial))
    fixed = {k: v for k, v in trial.config.items() if k not in trial.tuned}
    config = json.dumps(fixed, sort_keys=True)
    return (trial.study, trial.version, trial.task, trial.contender, trial.x, trial.budget, config,
            tuple(sorted(trial.tuned)), trial.device)


def group_trials(trials: Sequence[Trial], *, batch: bool = True, max_size: int = 256) -> list[list[Trial]]:
    """Groups in the order of their first trial; at most ``max_size`` trials per group."""
    if not batch:
        return [[t] for t in trials]
    groups: dict[tuple, list[list[Trial]]] = {}
    order: list[list[Trial]] = []
    for t in trials:
        if t.run_batch is None:
            order.append([t])
            continue
        key = batch_key(t)
        if key not in groups or len(groups[key][-1]) >= max_size:
            groups.setdefault(key, []).append([])
            order.append(groups[key][-1])
        groups[key][-1].append(t)
    return order


def largest_first(units: list[list[Trial]]) -> list[list[Trial]]:
    """Units in decreasing order of their expected cost, taken as the sum of their trials' scales
    (``Σ x``: a unit may hold several scales, as a study's own batch key allows; ties keep their order):
    a pool of workers that starts the longest units first ends close to the total work divided by the
    workers (Graham 1969, the LPT rule, within 4/3 of the best schedule), where starting them last leaves
    one worker running alone at the end."""
    return sorted(units, key=lambda unit: -sum(float(t.x) for t in unit))
