import dataclasses
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitterlab.study import Budget, Contender, expand, log_grid
from toy import study


def test_expand_is_the_full_grid():
    trials = expand(study(), "quick")
    assert len(trials) == 1 * 2 * 3 * 2  # tasks × contenders × x × seeds
    assert {(t.contender, t.x, t.seed) for t in trials} == {
        (c, x, s) for c in "gs" for x in (10.0, 100.0, 1000.0) for s in (0, 1)}
    assert len({t.key for t in trials}) == len(trials)
    t = next(t for t in trials if t.contender == "s")
    assert t.config == {"structured": True, "n": t.x} and t.role == "structured"


def test_seeds_override_and_bad_budget():
    assert len(expand(study(), "quick", seeds=5)) == 2 * 3 * 5
    with pytest.raises(ValueError, match="no budget 'full'"):
        expand(study(), "full")
    with pytest.raises(ValueError, match="at least 1"):
        expand(study(), "quick", seeds=0)


def test_key_depends_on_spec_and_version_not_device():
    base = expand(study(), "quick")[0]
    assert dataclasses.replace(base, device="cuda").key == base.key
    assert dataclasses.replace(base, version="2").key != base.key
    assert dataclasses.replace(base, seed=7).key != base.key
    assert dataclasses.replace(base, config={**base.config, "lr": 1}).key != base.key


def test_key_is_stable_across_processes():
    code = "import sys; sys.path.insert(0, 'tests'); from toy import study; from bitterlab.study import expand; " \
           "print(expand(study(), 'quick')[3].key)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == expand(study(), "quick")[3].key


def test_specs_validate():
    with pytest.raises(ValueError, match="role"):
        Contender(name="x", role="clever")
    with pytest.raises(ValueError, match="positive"):
        Budget(grid={"a": (0.0, 1.0)})
    with pytest.raises(ValueError, match="generic and a structured"):
        dataclasses.replace(study(), contenders=(Contender(name="g", role="generic"),))
    with pytest.raises(ValueError, match="main metric"):
        dataclasses.replace(study(), metric="nope")
    with pytest.raises(dataclasses.FrozenInstanceError):
        study().name = "other"


@given(st.floats(1, 1e3), st.floats(1.5, 1e3), st.integers(2, 12))
def test_log_grid_is_log_spaced(low, factor, n):
    grid = log_grid(low, low * factor, n, integer=False)
    assert len(grid) == n
    assert grid[0] == pytest.approx(low) and grid[-1] == pytest.approx(low * factor)
    ratios = [b / a for a, b in zip(grid, grid[1:])]
    assert max(ratios) == pytest.approx(min(ratios))


def test_secondary_axis_is_swept_at_the_largest_main_value():
    from toy import study_2axis

    s = study_2axis()
    trials = expand(s, "quick")
    keys = [t.key for t in trials]
    assert len(keys) == len(set(keys))
    main = [t for t in trials if t.x2 == 16.0]
    sweep = [t for t in trials if t.x2 != 16.0]
    # main sweep: (5 + 3 scales) × 3 contenders × 3 seeds; sweep: 4 new widths × 2 contenders × 3 seeds on "a"
    assert len(main) == 8 * 3 * 3 and len(sweep) == 4 * 2 * 3
    assert {t.x for t in sweep} == {1000.0} and {t.task for t in sweep} == {"a"}
    assert {t.contender for t in sweep} == {"g", "s"}  # references run on the main axis only
    assert all(t.config["width"] == t.x2 and isinstance(t.config["width"], int) for t in sweep)
    assert all(t.config["width"] == 16 for t in main)


def test_secondary_axis_keeps_the_main_sweep_keys():
    """Declaring a secondary axis adds trials; it does not change the keys (stored results) of the others."""
    from toy import study_2axis

    with_axis = study_2axis()
    without = dataclasses.replace(with_axis, secondary=None, budgets={
        "quick": dataclasses.replace(with_axis.budgets["quick"], secondary={})})
    assert {t.key for t in expand(without)} <= {t.key for t in expand(with_axis)}


def test_secondary_axis_specs_validate():
    from toy import study_2axis

    s = study_2axis()
    with pytest.raises(ValueError, match="does not declare"):
        dataclasses.replace(s, secondary=None)
    with pytest.raises(ValueError, match="must set 'width'"):
        dataclasses.replace(s, budgets={"quick": dataclasses.replace(s.budgets["quick"], options={})})
    with pytest.raises(ValueError, match="unknown task"):
        dataclasses.replace(s, budgets={"quick": dataclasses.replace(s.budgets["quick"], secondary={"z": (1.0, 2.0)})})
    with pytest.raises(ValueError, match="at least 2 axis"):
        Budget(grid={"a": (1.0,)}, secondary={"a": (4.0,)})
