"""User studies from a file (``my_study.py:STUDY``) or a module (``package.module:STUDY``): resolved once for
every CLI verb, one-line errors, stable trial keys, workers that import the file; the README's example runs."""

import json
import re
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bitterlab.cli import app
from bitterlab.engine import InlineExecutor, ProcessExecutor
from bitterlab.studies import STUDIES, StudyRefError, resolve
from bitterlab.study import expand
from made_up import write_made_up
from toy import USER_STUDY, user_study_file as write

runner = CliRunner()
README = Path(__file__).parents[1] / "README.md"

def test_a_file_resolves_to_its_study_and_runs_inline(tmp_path):
    study = resolve(f"{write(tmp_path, 'tiny_study')}:STUDY")
    assert study.name == "tiny" and study.run.__module__ == "tiny_study"
    results = list(InlineExecutor().map(expand(study, "quick")))
    assert len(results) == 3 * 2 * (3 + 1) and all(r.status == "ok" for r in results)


def test_the_same_file_keeps_its_trial_keys_wherever_it_lies(tmp_path):
    first = write(tmp_path / "a", "moved_study")
    keys = [t.key for t in expand(resolve(f"{first}:STUDY"), "quick")]
    second = tmp_path / "b" / "deeper" / "moved_study.py"
    second.parent.mkdir(parents=True)
    shutil.copy(first, second)
    study = resolve(f"{second}:STUDY")
    assert Path(sys.modules["moved_study"].__file__) == second  # the new file replaced the old one
    assert str(first.parent) not in sys.path
    assert [t.key for t in expand(study, "quick")] == keys


def test_spawned_workers_import_the_file(tmp_path):
    """multiprocessing's spawn gives children the parent's sys.path, where the file's folder was appended."""
    study = resolve(f"{write(tmp_path, 'spawned_study')}:STUDY")
    trials = expand(study, "quick", seeds=1)
    inline = {r.key: r.metrics for r in InlineExecutor().map(trials)}
    results = list(ProcessExecutor(jobs=2).map(trials))
    assert all(r.status == "ok" for r in results), [r.reason for r in results]
    assert {r.key: r.metrics for r in results} == inline


def test_a_module_reference_from_the_working_directory(tmp_path, monkeypatch):
    write(tmp_path / "userpkg", "__init__", "")
    write(tmp_path / "userpkg", "duel", name="tiny-pkg")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    study = resolve("userpkg.duel:STUDY")
    assert study.name == "tiny-pkg" and study.run.__module__ == "userpkg.duel"
    assert resolve("bitterlab.studies.seasonal:STUDY") is STUDIES["seasonal"]  # a built-in by module: no clash


BAD = {
    "missing_file": ("nowhere/absent.py:STUDY", "absent.py: no such file"),
    "import_fails": ("boom.py:STUDY", "boom.py:STUDY: importing it failed: ZeroDivisionError: division by zero"),
    "syntax": ("broken.py:STUDY", "importing it failed: SyntaxError: invalid syntax"),
    "no_attribute": ("fine.py:NOPE", "fine.py:NOPE: module 'fine' has no attribute 'NOPE' (studies in it: STUDY)"),
    "not_a_study": ("fine.py:NOT_A_STUDY", "'NOT_A_STUDY' is not a bitterlab.study.Study (got int)"),
    "builtin_name": ("clash.py:STUDY", "study name 'seasonal' is a built-in study's; rename it"),
    "lambda_run": ("anon.py:STUDY", "anon.py:STUDY: the study's run must be a module-level function (workers "
                   "import it by name), got <lambda>"),
    "module_taken": ("json.py:STUDY", "json.py: its module name 'json' is taken by"),
    "no_module": ("no_such_pkg.mod:STUDY", "no_such_pkg.mod:STUDY: no module named 'no_such_pkg'"),
    "no_name": ("fine.py", "fine.py: name the study in it, e.g. fine.py:STUDY"),
    "unknown": ("nope", "unknown study 'nope'"),
}


@pytest.fixture
def bad_files(tmp_path, monkeypatch):
    write(tmp_path, "boom", "x = 1 / 0\n")
    write(tmp_path, "broken", "def run(:\n")
    write(tmp_path, "fine", name="fine")
    write(tmp_path, "clash", name="seasonal")
    write(tmp_path, "json")
    write(tmp_path, "anon", USER_STUDY.replace("run=run", "run=lambda t: run(t)"), name="anon")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the module reference appends the working directory


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_reference_is_a_one_line_error_with_exit_2(bad_files, case):
    ref, message = BAD[case]
    with pytest.raises(StudyRefError):
        resolve(ref)
    res = runner.invoke(app, ["verdict", ref, "--store", "absent.duckdb"])
    assert res.exit_code == 2 and message in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert "boom" not in sys.modules and "broken" not in sys.modules


@pytest.mark.parametrize("args", [["run"], ["report"], ["export", "x.csv", "--study"]])
def test_every_verb_resolves_the_same_way(bad_files, args):
    res = runner.invoke(app, [*args, "fine.py:NOPE"])
    assert res.exit_code == 2 and "module 'fine' has no attribute 'NOPE'" in res.stderr


def readme_example() -> str:
    text = README.read_text()
    block = re.search(r"<!-- user-study:begin -->\n```python\n(.*?)```\n<!-- user-study:end -->", text, re.S)
    assert block, "README.md lost its user-study example markers"
    return block.group(1)


@pytest.mark.slow
def test_the_readme_example_runs_through_the_cli(tmp_path):
    (tmp_path / "my_study.py").write_text(readme_example())
    ref, store = f"{tmp_path / 'my_study.py'}:STUDY", str(tmp_path / "r.duckdb")
    for shown in ("bitterlab run my_study.py:STUDY --budget quick", "bitterlab verdict my_study.py:STUDY",
                  "bitterlab report my_study.py:STUDY"):  # the commands the README shows, run here
        assert shown in README.read_text()
    res = runner.invoke(app, ["run", ref, "--budget", "quick", "--seeds", "3", "--executor", "process",
                              "--store", store])
    assert res.exit_code == 0, res.output
    study = resolve(ref)
    n = len(expand(study, "quick", seeds=3))
    assert f"my-cycle: {n} run, 0 already in the store, 0 failed" in res.stderr
    res = runner.invoke(app, ["verdict", ref, "--json", "--store", store])
    assert res.exit_code == 0, res.output
    (v,) = json.loads(res.stdout)
    assert v["study"] == "my-cycle" and v["tuned"] is True and v["failed_trials"] == 0
    grid = study.budgets["quick"].grid["sine"]
    for contender in ("relu", "sincos"):
        chosen = v["selected"][contender]
        assert [p["x"] for p in chosen] == list(grid)
        assert all(p["values"]["lr"] in (0.1, 0.3, 1.0) and p["grid_points"] == 3 for p in chosen)
        assert v["unconverged"][contender] is not None
    out = tmp_path / "rep"
    write_made_up(tmp_path / "r.duckdb", [STUDIES["grammar"]])  # two studies: analysed in 2 spawned workers,
    res = runner.invoke(app, ["report", ref, "grammar", "--jobs", "2", "--out", str(out), "--no-geometry",
                              "--store", store])  # which must import my_study.py by its name
    assert res.exit_code == 0, res.output
    assert (out / "grammar.html").exists()
    page = (out / "my-cycle.html").read_text()
    assert f"bitterlab run {ref} --budget quick" in page
    res = runner.invoke(app, ["export", str(tmp_path / "r.csv"), "--study", ref, "--store", store])
    assert res.exit_code == 0 and f"{n} rows written" in res.output
