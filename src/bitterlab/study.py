"""Study specs as values: a study expands into trials; a trial is one (contender, scale, seed) run.

A :class:`Study` names a task (or several), two or more :class:`Contender` s, the main
:class:`Axis` of scale (and optionally a secondary one, e.g. model width), the metrics and the
:class:`Budget` s. :func:`expand` turns it into a declared grid of :class:`Trial` s, each a
picklable value with a stable :attr:`Trial.key` (a hash of the trial spec and the study's
version) so that the store can resume without duplicates.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["generic", "structured", "reference"]
ROLES: tuple[str, ...] = ("generic", "structured", "reference")


@dataclass(frozen=True, kw_only=True)
class TrialOutput:
    """What a study's trial function returns: metrics (lower is better) and the cost of training."""

    metrics: Mapping[str, float]  # every metric the study declares, lower is better
    params: int  # trainable parameters of the model (0 for non-parametric methods)
    flops: float  # training FLOPs (≈ 6 · params · examples · steps for a dense net)
    steps: int  # optimiser steps (or iterations) taken


@dataclass(frozen=True, kw_only=True)
class Contender:
    """A method with a role in a duel; ``options`` are passed to the study's trial function."""

    name: str  # short identifier, e.g. "relu-mlp"
    role: Role  # "generic", "structured" or "reference"
    description: str = ""  # one line for reports
    options: Mapping[str, Any] = field(default_factory=dict)  # method switches, e.g. {"fourier": True}

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"contender {self.name!r}: role must be one of {ROLES}, got {self.role!r}")


@dataclass(frozen=True, kw_only=True)
class Task:
    """A data source of a study, e.g. a synthetic generator with known truth or a real dataset."""

    name: str  # e.g. "synthetic", "elecdemand"
    description: str = ""  # data and its source, for reports
    options: Mapping[str, Any] = field(default_factory=dict)  # passed to the trial function


@dataclass(frozen=True, kw_only=True)
class Axis:
    """An axis swept on a grid declared per budget: the main axis of scale, or a secondary one.

    ``scale=False`` marks a condition rather than a scale (e.g. the number of bins of an ordinal
    output): results along it are compared value by value, and no scaling curve is fitted."""

    name: str  # key under which the value reaches the trial function, e.g. "n_train"
    label: str  # axis label for plots and words, e.g. "training window (hours)"
    unit: str = ""  # e.g. "examples"
    scale: bool = True  # a scale (curves fitted along it) or a condition (compared per value only)


@dataclass(frozen=True, kw_only=True)
class Budget:
    """A declared grid: the axis values, the seeds and the training options of one budget."""

    grid: Mapping[str, tuple[float, ...]]  # task name -> axis values (declared before running)
    seeds: int = 3  # seeds per (task, contender, scale point)
    options: Mapping[str, Any] = field(default_factory=dict)  # e.g. {"steps": 400, "width": 32}
    # the secondary axis: task name -> its values, swept at the task's largest main-axis value (tasks
    # not named are not swept); the main sweep runs at the value the options give (e.g. "width")
    secondary: Mapping[str, tuple[float, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.seeds < 1:
            raise ValueError(f"a budget needs at least one seed, got {self.seeds}")
        for kind, grids, least in (("grid", self.grid, 1), ("secondary grid", self.secondary, 2)):
            for task, values in grids.items():
                if len(values) < least or any(not (v > 0 and math.isfinite(v)) for v in values):
                    raise ValueError(f"{kind} of task {task!r}: at least {least} axis value(s), positive and finite")


@dataclass(frozen=True, kw_only=True)
class Study:
    """One question: tasks, contenders, the axis of scale, metrics and budgets.

    ``run`` is a module-level function ``run(trial) -> TrialOutput`` (picklable by reference).
    ``run_batch``, if given, runs trials that differ only by seed together and must give the same
    numbers as ``run`` up to float summation order (a batched model on one device). ``batch_key``,
    if given, replaces "differ only by seed" by the study's own grouping: trials with equal keys go to
    ``run_batch`` together (e.g. two contenders that share one trained model and differ at inference).
    """

    name: str  # CLI name, e.g. "seasonal"
    claim: str  # the claim under test, in quotes
    question: str  # the question the verdict answers
    version: str  # bump when the trial function changes meaning; part of every trial key
    run: Callable[[Trial], TrialOutput]
    tasks: tuple[Task, ...]
    contenders: tuple[Contender, ...]
    axis: Axis
    metric: str  # the verdict's main metric (lower is better)
    metrics: tuple[str, ...]  # every metric the trial function returns
    budgets: Mapping[str, Budget]  # "quick" and "full"
    references: tuple[str, ...] = ()  # anchors, e.g. "Ziyin et al. 2020, NeurIPS"
    # optional: trials that differ only by seed, trained together (one output or exception per trial)
    run_batch: Callable[[list[Trial]], list[TrialOutput | Exception]] | None = None
    batch_key: Callable[[Trial], Any] | None = None  # optional grouping for run_batch (hashable values)
    secondary: Axis | None = None  # a second axis (e.g. model width), swept at the largest main value

    def __post_init__(self) -> None:
        names = [c.name for c in self.contenders]
        if len(set(names)) != len(names):
            raise ValueError(f"study {self.name!r}: contender names must be unique, got {names}")
        roles = {c.role for c in self.contenders}
        if not {"generic", "structured"} <= roles:
            raise ValueError(f"study {self.name!r}: needs a generic and a structured contender")
        if self.metric not in self.metrics:
            raise ValueError(f"study {self.name!r}: main metric {self.metric!r} not in {self.metrics}")
        task_names = {t.name for t in self.tasks}
        for bname, budget in self.budgets.items():
            if set(budget.grid) != task_names:
                raise ValueError(f"study {self.name!r}: budget {bname!r} must give a grid for each task")
            if budget.secondary and self.secondary is None:
                raise ValueError(f"study {self.name!r}: budget {bname!r} sweeps a secondary axis the study "
                                 "does not declare")
            if not set(budget.secondary) <= task_names:
                raise ValueError(f"study {self.name!r}: budget {bname!r} sweeps the secondary axis on unknown "
                                 f"task(s) {sorted(set(budget.secondary) - task_names)}")
            for task in self.tasks if self.secondary is not None else ():
                self.secondary_default(task.name, bname)  # raises if the main sweep's value is undefined

    def contender(self, name: str) -> Contender:
        for c in self.contenders:
            if c.name == name:
                return c
        raise KeyError(name)

    def task(self, name: str) -> Task:
        for t in self.tasks:
            if t.name == name:
                return t
        raise KeyError(name)

    def secondary_default(self, task: str, budget: str) -> float | None:
        """The secondary axis's value in the main sweep of ``task`` (from the task's or the budget's
        options); ``None`` when the study has no secondary axis, or when the options do not set it
        and ``budget`` does not sweep it on ``task`` (e.g. the bins of a real dataset are fixed)."""
        if self.secondary is None:
            return None
        options = {**self.task(task).options, **self.budgets[budget].options}
        if self.secondary.name not in options:
            if task not in self.budgets[budget].secondary:
                return None
            raise ValueError(f"study {self.name!r}: budget {budget!r} or task {task!r} must set "
                             f"{self.secondary.name!r}, the secondary axis's value in the main sweep")
        return float(options[self.secondary.name])

    def secondary_at(self, task: str, budget: str) -> float:
        """The main-axis value at which the secondary axis of ``task`` is swept: its largest."""
        return float(max(self.budgets[budget].grid[task]))


@dataclass(frozen=True, kw_only=True)
class Trial:
    """One run: (study, task, contender, scale point, seed) with everything the function needs."""

    study: str
    version: str
    task: str
    contender: str
    role: Role
    x: float  # value on the main axis
    seed: int
    budget: str
    config: Mapping[str, Any]  # task options | contender options | budget options | {axes: values}
    run: Callable[[Trial], TrialOutput]
    device: str = "cpu"  # not part of the key: results are keyed by what is computed, not where
    run_batch: Callable[[list[Trial]], list[TrialOutput | Exception]] | None = None  # not part of the key
    batch_key: Callable[[Trial], Any] | None = None  # not part of the key
    x2: float | None = None  # value on the secondary axis (in ``config`` too), None without one

    @property
    def key(self) -> str:
        """sha256 of the canonical JSON of the spec and the study version (first 16 bytes, hex)."""
        spec = {
            "study": self.study,
            "version": self.version,
            "task": self.task,
            "contender": self.contender,
            "x": float(self.x),
            "seed": int(self.seed),
            "config": self.config,
            "run": f"{self.run.__module__}.{self.run.__qualname__}",
        }
        blob = json.dumps(spec, sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:32]


def expand(study: Study, budget: str = "quick", *, seeds: int | None = None, device: str = "cpu") -> list[Trial]:
    """The declared grid of a study at a budget: tasks × contenders × axis values × seeds, then the
    secondary axis's values at each swept task's largest main-axis value for the generic and
    structured contenders (references run on the main axis only; the point the two sweeps share —
    the main sweep's own secondary value — appears once).

    Seeds are 0..n-1 and shared across contenders, so results are paired by seed (same data
    window, same noise) and differences between contenders can be bootstrapped over seeds.
    """
    if budget not in study.budgets:
        raise ValueError(f"study {study.name!r} has no budget {budget!r} (has: {', '.join(study.budgets)})")
    spec = study.budgets[budget]
    n_seeds = spec.seeds if seeds is None else seeds
    if n_seeds < 1:
        raise ValueError(f"--seeds must be at least 1, got {n_seeds}")
    trials = []
    for task in study.tasks:
        default = study.secondary_default(task.name, budget)
        points = [(float(x), default, False) for x in spec.grid[task.name]]
        points += [(study.secondary_at(task.name, budget), float(v), True)
                   for v in spec.secondary.get(task.name, ()) if float(v) != default]
        for contender in study.contenders:
            for x, x2, swept in points:
                if swept and contender.role == "reference":  # references run on the main axis only
                    continue
                config = {**task.options, **contender.options, **spec.options, study.axis.name: x}
                if swept:  # same type as the main sweep's value, so its trials keep their keys
                    config[study.secondary.name] = int(x2) if isinstance(config[study.secondary.name], int) \
                        and x2.is_integer() else x2
                for seed in range(n_seeds):
                    trials.append(
                        Trial(
                            study=study.name,
                            version=study.version,
                            task=task.name,
                            contender=contender.name,
                            role=contender.role,
                            x=x,
                            seed=seed,
                            budget=budget,
                            config=config,
                            run=study.run,
                            device=device,
                            run_batch=study.run_batch,
                            batch_key=study.batch_key,
                            x2=x2,
                        )
                    )
    return trials


def log_grid(low: float, high: float, n: int, *, integer: bool = True) -> tuple[float, ...]:
    """``n`` log-spaced values from ``low`` to ``high`` inclusive (rounded to integers by default)."""
    if not (0 < low < high) or n < 2:
        raise ValueError("log_grid needs 0 < low < high and n >= 2")
    ratio = (high / low) ** (1 / (n - 1))
    values = [low * ratio**i for i in range(n)]
    return tuple(float(round(v)) if integer else v for v in values)
