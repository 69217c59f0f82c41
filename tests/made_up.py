"""Made-up results for tests that analyse or render a store without running studies."""

from pathlib import Path

from bitterlab.engine import Store
from bitterlab.engine.result import Result
from bitterlab.study import expand


def write_made_up(path: Path, studies) -> None:
    """Made-up quick results (3 seeds; the structured contender 20% better; the first trial failed)."""
    with Store(path) as st:
        for study in studies:
            for i, t in enumerate(expand(study, "quick", seeds=3)):
                loss = (1.0 + 3.0 * t.x ** -0.3) * (0.8 if t.role == "structured" else 1.0) * (1 + 0.01 * t.seed)
                failed = i == 0
                st.write(Result(key=t.key, study=t.study, version=t.version, task=t.task, contender=t.contender,
                                role=t.role, x=t.x, x2=t.x2, seed=t.seed, budget=t.budget, status="failed" if failed else "ok",
                                reason="diverged: loss is nan at step 3" if failed else "",
                                metrics={m: loss for m in study.metrics}))
