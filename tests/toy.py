"""A toy study for engine tests: trials are cheap, and their config can make them fail on purpose."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np

from bitterlab.engine.run import Diverged
from bitterlab.study import Axis, Budget, Contender, Study, Task, Trial, TrialOutput


def run(trial: Trial) -> TrialOutput:
    c = trial.config
    if c.get("started"):  # a folder: tell the test this trial is running
        (Path(c["started"]) / trial.key).touch()
    if c.get("sleep"):
        time.sleep(float(c["sleep"]))
    if c.get("die") and trial.x == c["die"]:
        os.kill(os.getpid(), signal.SIGKILL)
    if c.get("always_raise"):
        raise ValueError(c["always_raise"])
    if c.get("raise") and trial.x == c["raise"]:
        raise ValueError("bad data on purpose")
    if c.get("diverge") and trial.x == c["diverge"]:
        raise Diverged("loss is nan at step 3")
    noise = np.random.default_rng(trial.seed).normal(0, 0.01)
    slope = 0.5 if c.get("structured") else 0.3
    value = float("nan") if c.get("nan") == trial.x else 2.0 * trial.x ** -slope + 0.1 + noise
    if "width" in c:  # a secondary axis: the generic gains more from width
        value += (3.0 if c.get("structured") else 8.0) * float(c["width"]) ** -0.5
    return TrialOutput(metrics={"loss": value, "other": value * 2}, params=10, flops=60.0 * trial.x, steps=1)


def run_batch(trials: list[Trial]) -> list[TrialOutput | Exception]:
    """A stand-in batch: raises when asked to (to test the fallback), else runs each trial."""
    if any(t.config.get("batch_raises") for t in trials):
        raise RuntimeError("the batch itself failed")
    outs = []
    for t in trials:
        try:
            outs.append(run(t))
        except Exception as exc:
            outs.append(exc)
    return outs


def study(batched: bool = False, **options) -> Study:
    return Study(
        name="toy", claim="toy claim", question="toy?", version="1", run=run,
        tasks=(Task(name="a"),),
        contenders=(Contender(name="g", role="generic"),
                    Contender(name="s", role="structured", options={"structured": True})),
        axis=Axis(name="n", label="examples"),
        metric="loss", metrics=("loss", "other"),
        budgets={"quick": Budget(grid={"a": (10.0, 100.0, 1000.0)}, seeds=2, options=options)},
        run_batch=run_batch if batched else None,
    )


def study_2axis(*, scale: bool = True, main_width: int = 16) -> Study:
    """The toy with a reference and a secondary axis "width", swept at n = 1000 on task "a" only."""
    base = study()
    return Study(
        name="toy2", claim="toy claim", question="toy?", version="1", run=run,
        tasks=(Task(name="a"), Task(name="b")),
        contenders=(*base.contenders, Contender(name="r", role="reference")),
        axis=base.axis, secondary=Axis(name="width", label="width", kind="width" if scale else "condition"),
        metric="loss", metrics=("loss", "other"),
        budgets={"quick": Budget(grid={"a": (10.0, 30.0, 100.0, 300.0, 1000.0), "b": (10.0, 100.0, 1000.0)},
                                 seeds=3, options={"width": main_width},
                                 secondary={"a": (4.0, 16.0, 64.0, 256.0, 1024.0)})},
    )


# A user's study file (``bitterlab run FILE.py:STUDY``): cheap trials, a tuned generic contender, validation.
USER_STUDY = '''
from bitterlab.study import Axis, Budget, Contender, Study, Task, TrialOutput


def run(trial):
    c = trial.config
    loss = (3.0 if c["generic"] else 1.0) * trial.x ** -0.5 + 0.1 + 0.01 * trial.seed + abs(c["lr"] - 0.1)
    return TrialOutput(metrics={"loss": loss}, validation={"loss": loss}, params=1, flops=trial.x, steps=1,
                       converged=True)


STUDY = Study(
    name=NAME, claim="c", question="q?", version="1", run=run, tasks=(Task(name="t"),),
    contenders=(Contender(name="g", role="generic", options={"generic": True}, tune={"lr": (0.01, 0.1, 1.0)}),
                Contender(name="s", role="structured", options={"generic": False, "lr": 0.1})),
    axis=Axis(name="n", label="examples", kind="data"), metric="loss", metrics=("loss",),
    budgets={"quick": Budget(grid={"t": (10.0, 100.0, 1000.0)}, seeds=2)},
)
NOT_A_STUDY = 3
'''


def user_study_file(folder, stem: str, text: str = USER_STUDY, name: str = "tiny"):
    """Write ``text`` (the study named ``name`` by default) to ``folder/stem.py``; return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.py"
    path.write_text(text.replace("NAME", repr(name)))
    return path
