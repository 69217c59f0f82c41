"""A study whose trials do no work, to time executors' overhead (imported by bench_batched)."""

from bitterlab.study import Axis, Budget, Contender, Study, Task, Trial, TrialOutput


def run(trial: Trial) -> TrialOutput:
    return TrialOutput(metrics={"loss": 1.0 / trial.x}, params=0, flops=0.0, steps=0)


def study(n: int) -> Study:
    return Study(name="trivial", claim="-", question="-", version="1", run=run, tasks=(Task(name="t"),),
                 contenders=(Contender(name="g", role="generic"), Contender(name="s", role="structured")),
                 axis=Axis(name="n", label="n"), metric="loss", metrics=("loss",),
                 budgets={"quick": Budget(grid={"t": tuple(float(i + 1) for i in range(n))}, seeds=1)})
