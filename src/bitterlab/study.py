"""Study specs as values: a study expands into trials; a trial is one (contender, scale, seed) run.

A :class:`Study` names a task (or several), two or more :class:`Contender` s, the main
:class:`Axis` of scale (and optionally a secondary one, e.g. model width), the metrics and the
:class:`Budget` s. :func:`expand` turns it into a declared grid of :class:`Trial` s, each a
picklable value with a stable :attr:`Trial.key` (a hash of the trial spec and the study's
version) so that the store can resume without duplicates.

The fair-duel protocol lives here too: a contender may declare a grid of options to tune
(``Contender.tune``, replaceable per budget by ``Budget.tune``); every grid point is its own trial,
and the point with the best validation score is chosen afterwards, by analysis
(:mod:`bitterlab.analysis.selection`). Options are merged strictly (:func:`merge_options`): a key
set twice with different values is an error, never a silent override.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["generic", "structured", "reference"]
ROLES: tuple[str, ...] = ("generic", "structured", "reference")
AxisKind = Literal["data", "compute", "width", "condition"]
AXIS_KINDS: tuple[str, ...] = ("data", "compute", "width", "condition")
Grid = Mapping[str, tuple[Any, ...]]  # option name -> the values to try


class ConfigError(ValueError):
    """A study's options are ambiguous or not plain JSON (a key set twice, a function in options...)."""


@dataclass(frozen=True, kw_only=True)
class Curve:
    """Training and validation loss of one trained model at up to 50 steps (the shared trainer's record)."""

    steps: tuple[int, ...]
    train: tuple[float, ...]
    validation: tuple[float, ...]

    def __post_init__(self) -> None:
        if not (len(self.steps) == len(self.train) == len(self.validation)):
            raise ValueError("a curve needs as many steps as training and validation losses")
        if len(self.steps) > 50:
            raise ValueError(f"a curve keeps at most 50 points, got {len(self.steps)}")


@dataclass(frozen=True, kw_only=True)
class TrialOutput:
    """What a study's trial function returns: test metrics (lower is better), the same metrics on a
    validation split carved from the training data (never the test set; the engine selects tuned
    options by them), the cost of training, and whether training converged."""

    metrics: Mapping[str, float]  # every metric the study declares, lower is better, on the test data
    params: int  # trainable parameters of the model (0 for non-parametric methods)
    flops: float  # training FLOPs, counted analytically (≈ 6 · params · examples seen for a dense net)
    steps: int  # optimiser steps (or iterations) taken
    validation: Mapping[str, float] = field(default_factory=dict)  # declared metrics on the validation split
    # False when the maximum was hit while validation was still improving; None when not recorded
    converged: bool | None = None
    curve: Curve | None = None  # training and validation loss along training (the shared trainer fills it)


@dataclass(frozen=True, kw_only=True)
class Contender:
    """A method with a role in a duel; ``options`` are passed to the study's trial function.

    ``tune`` declares a grid of options for this contender, e.g. ``{"lr": (1e-3, 3e-3, 1e-2)}``:
    every combination is its own trial, and the verdict compares the point with the best mean
    validation score over seeds at each axis value."""

    name: str  # short identifier, e.g. "relu-mlp"
    role: Role  # "generic", "structured" or "reference"
    description: str = ""  # one line for reports
    options: Mapping[str, Any] = field(default_factory=dict)  # method switches, e.g. {"fourier": True}
    tune: Grid = field(default_factory=dict)  # option -> values to try, e.g. {"lr": (1e-3, 1e-2)}

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"contender {self.name!r}: role must be one of {ROLES}, got {self.role!r}")
        check_grid(self.tune, f"contender {self.name!r}")


@dataclass(frozen=True, kw_only=True)
class Task:
    """A data source of a study, e.g. a synthetic generator with known truth or a real dataset."""

    name: str  # e.g. "synthetic", "elecdemand"
    description: str = ""  # data and its source, for reports
    options: Mapping[str, Any] = field(default_factory=dict)  # passed to the trial function


@dataclass(frozen=True, kw_only=True)
class Axis:
    """An axis swept on a grid declared per budget: the main axis of scale, or a secondary one.

    ``kind`` says what it grows: ``"data"`` (training examples; every point trains to convergence,
    so the axis measures data, not epochs), ``"compute"`` (training FLOPs, counted analytically, or
    steps), ``"width"`` (model size), or ``"condition"`` — not a scale (e.g. the number of bins of an
    ordinal output): results along it are compared value by value, and no scaling curve is fitted.
    The verdict's words follow the kind: "needs k× the data / the compute / the width"."""

    name: str  # key under which the value reaches the trial function, e.g. "n_train"
    label: str  # axis label for plots and words, e.g. "training window (hours)"
    unit: str = ""  # e.g. "examples"
    kind: AxisKind = "data"

    def __post_init__(self) -> None:
        if self.kind not in AXIS_KINDS:
            raise ValueError(f"axis {self.name!r}: kind must be one of {AXIS_KINDS}, got {self.kind!r}")

    @property
    def scale(self) -> bool:
        """A scale (curves fitted along it), or a condition (compared per value only)."""
        return self.kind != "condition"

    @property
    def resource(self) -> str:
        """What the exchange rate multiplies: "the data", "the compute", "the width" (else the label)."""
        return {"data": "the data", "compute": "the compute", "width": "the width"}.get(self.kind, self.label)


@dataclass(frozen=True, kw_only=True)
class Budget:
    """A declared grid: the axis values, the seeds and the training options of one budget.

    ``tune`` replaces a contender's tuning grid at this budget: contender name -> option -> values
    (an empty mapping turns tuning off for that contender)."""

    grid: Mapping[str, tuple[float, ...]]  # task name -> axis values (declared before running)
    seeds: int = 3  # seeds per (task, contender, scale point)
    options: Mapping[str, Any] = field(default_factory=dict)  # e.g. {"max_steps": 4000, "width": 32}
    # the secondary axis: task name -> its values, swept at the task's largest main-axis value (tasks
    # not named are not swept); the main sweep runs at the value the options give (e.g. "width")
    secondary: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    tune: Mapping[str, Grid] = field(default_factory=dict)  # contender -> its grid at this budget

    def __post_init__(self) -> None:
        if self.seeds < 1:
            raise ValueError(f"a budget needs at least one seed, got {self.seeds}")
        for name, grid in self.tune.items():
            check_grid(grid, f"budget tune of contender {name!r}")
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
    # further metrics with a verdict of their own (e.g. in-window error beside the forecast error): the same
    # selected grid points (chosen by the main metric's validation), compared on each of these test metrics
    verdicts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        names = [c.name for c in self.contenders]
        if len(set(names)) != len(names):
            raise ValueError(f"study {self.name!r}: contender names must be unique, got {names}")
        roles = {c.role for c in self.contenders}
        if not {"generic", "structured"} <= roles:
            raise ValueError(f"study {self.name!r}: needs a generic and a structured contender")
        if self.metric not in self.metrics:
            raise ValueError(f"study {self.name!r}: main metric {self.metric!r} not in {self.metrics}")
        extra = [m for m in self.verdicts if m not in self.metrics or m == self.metric]
        if extra or len(set(self.verdicts)) != len(self.verdicts):
            raise ValueError(f"study {self.name!r}: verdicts must be distinct declared metrics other than the "
                             f"main one {self.metric!r}, got {self.verdicts}")
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
            unknown = sorted(set(budget.tune) - set(names))
            if unknown:
                raise ValueError(f"study {self.name!r}: budget {bname!r} tunes unknown contender(s) {unknown}")

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

    def tune_grid(self, contender: str, budget: str) -> Grid:
        """The grid ``contender`` is tuned over at ``budget``: the budget's, else the contender's own."""
        spec = self.budgets[budget]
        return spec.tune[contender] if contender in spec.tune else self.contender(contender).tune

    @property
    def tuned(self) -> bool:
        """Whether any contender is tuned at any budget (a grid with more than one point)."""
        return any(len(grid_points(self.tune_grid(c.name, b))) > 1 for c in self.contenders for b in self.budgets)

    def secondary_default(self, task: str, budget: str) -> float | None:
        """The secondary axis's value in the main sweep of ``task`` (from the task's or the budget's
        options); ``None`` when the study has no secondary axis, or when the options do not set it
        and ``budget`` does not sweep it on ``task`` (e.g. the bins of a real dataset are fixed)."""
        if self.secondary is None:
            return None
        options = merge_options(("task", self.task(task).options), ("budget", self.budgets[budget].options))
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
    config: Mapping[str, Any]  # task, contender and budget options, the tuned point and the axes' values
    run: Callable[[Trial], TrialOutput]
    device: str = "cpu"  # not part of the key: results are keyed by what is computed, not where
    run_batch: Callable[[list[Trial]], list[TrialOutput | Exception]] | None = None  # not part of the key
    batch_key: Callable[[Trial], Any] | None = None  # not part of the key
    x2: float | None = None  # value on the secondary axis (in ``config`` too), None without one
    tuned: Mapping[str, Any] = field(default_factory=dict)  # this trial's point of the tuning grid (in config)
    metrics: tuple[str, ...] = ()  # the metrics the study declares (a trial returning others fails)
    metric: str = ""  # the study's main metric (a tuned trial must report it on validation)

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
        blob = json.dumps(spec, sort_keys=True, separators=(",", ":"))
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
                base = merge_options(("task", task.options), ("contender", contender.options),
                                     ("budget", spec.options), ("axis", {study.axis.name: x}))
                if swept:  # same type as the main sweep's value, so its trials keep their keys
                    base[study.secondary.name] = int(x2) if isinstance(base[study.secondary.name], int) \
                        and x2.is_integer() else x2
                grid = study.tune_grid(contender.name, budget)
                clash = sorted(set(grid) & set(base))
                if clash:
                    raise ConfigError(f"study {study.name!r}: contender {contender.name!r} tunes {clash} at budget "
                                      f"{budget!r}, which the task, contender or budget options also set")
                for point in grid_points(grid):
                    config = {**base, **point}
                    check_json(config, f"study {study.name!r}, contender {contender.name!r}")
                    trials += [
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
                            tuned=point,
                            metrics=tuple(study.metrics),
                            metric=study.metric,
                        )
                        for seed in range(n_seeds)
                    ]
    return trials


def merge_options(*layers: tuple[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Merge named option layers (task, contender, budget, axis...) into one mapping.

    A key set by two layers with different values raises :class:`ConfigError` naming both layers:
    no layer silently overrides another (nanoGPT's configurator rejects what it cannot place)."""
    merged: dict[str, Any] = {}
    source: dict[str, str] = {}
    for name, options in layers:
        for key, value in options.items():
            if key in merged and merged[key] != value:
                raise ConfigError(f"option {key!r} is set twice: {merged[key]!r} by the {source[key]} options "
                                  f"and {value!r} by the {name} options")
            merged[key], source[key] = value, name
    return merged


def check_json(value: Any, where: str, path: str = "") -> None:
    """Raise :class:`ConfigError` unless ``value`` is plain JSON (None, bool, int, float, str, and lists,
    tuples or str-keyed mappings of them): a trial key hashes values, never ``str()`` of an object."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            check_json(v, where, f"{path}[{i}]")
        return
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ConfigError(f"{where}: option key {k!r} at {path or 'top level'} is not a string")
            check_json(v, where, f"{path}.{k}" if path else k)
        return
    raise ConfigError(f"{where}: option {path!r} is a {type(value).__name__}, not a plain JSON value "
                      "(numbers, strings, booleans, lists or mappings of them); trial keys hash values only")


def check_grid(grid: Grid, where: str) -> None:
    """A tuning grid: option name -> a non-empty tuple of distinct plain JSON values."""
    for key, values in grid.items():
        if not isinstance(values, (tuple, list)) or not values:
            raise ConfigError(f"{where}: the tuning grid of {key!r} must be a non-empty tuple of values")
        if len({json.dumps(v, sort_keys=True) for v in values}) != len(values):
            raise ConfigError(f"{where}: the tuning grid of {key!r} repeats a value: {tuple(values)}")
        check_json(list(values), where, key)


def grid_points(grid: Grid) -> list[dict[str, Any]]:
    """Every combination of a tuning grid, in declaration order (one empty point for no grid)."""
    return [dict(zip(grid, combo)) for combo in itertools.product(*grid.values())]


def log_grid(low: float, high: float, n: int, *, integer: bool = True) -> tuple[float, ...]:
    """``n`` log-spaced values from ``low`` to ``high`` inclusive (rounded to integers by default)."""
    if not (0 < low < high) or n < 2:
        raise ValueError("log_grid needs 0 < low < high and n >= 2")
    ratio = (high / low) ** (1 / (n - 1))
    values = [low * ratio**i for i in range(n)]
    return tuple(float(round(v)) if integer else v for v in values)
