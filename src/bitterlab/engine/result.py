"""The result of one trial: one row of the store."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from bitterlab.study import Curve

Status = Literal["ok", "failed"]


@dataclass(frozen=True, kw_only=True)
class Result:
    """One trial's outcome. ``status="failed"`` rows keep their ``reason`` and are never dropped."""

    key: str  # Trial.key: hash of the trial spec and the study version
    study: str
    version: str
    task: str
    contender: str
    role: str
    x: float  # value on the main axis
    seed: int
    budget: str
    status: Status
    reason: str = ""  # why a trial failed ("diverged: loss is nan at step 12", an exception, ...)
    metrics: Mapping[str, float] = field(default_factory=dict)  # lower is better
    params: int = 0
    flops: float = 0.0
    steps: int = 0
    wall_s: float = 0.0
    device: str = "cpu"
    versions: Mapping[str, str] = field(default_factory=dict)  # python, torch, numpy, bitterlab
    x2: float | None = None  # value on the study's secondary axis (None if it has none)
    tuned: Mapping[str, Any] = field(default_factory=dict)  # the trial's point of its tuning grid ({} if untuned)
    validation: Mapping[str, float] = field(default_factory=dict)  # metrics on the validation split
    converged: bool | None = None  # False: the training maximum was hit while validation still improved
    curve: Curve | None = None  # training and validation loss along training
    censored: tuple[str, ...] = ()  # metrics that are lower bounds: the trial hit its cap first
