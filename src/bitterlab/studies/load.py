"""Resolve a study reference: a built-in name, ``path/to/file.py:NAME`` or ``package.module:NAME``.

Every CLI verb takes the same references, through :func:`resolve`.

Trials carry their study's functions (``run``, ``run_batch``, ``batch_key``), and executors pickle
them by reference (module and name), so every worker must be able to import the study's module:

- a **file** is imported under its stem as module name (``my_study.py`` -> ``my_study``), with its
  folder appended to ``sys.path``. The name is part of every trial key (``run``'s module and name), so
  the same file keeps its results wherever it is run from. Spawned worker processes start with the
  parent's ``sys.path`` (``multiprocessing.spawn`` copies it), so they import it by the same name. Ray
  workers do not: the module is marked to be pickled by value
  (:func:`bitterlab.engine.ray_executor.pickle_by_value`), so its functions travel with the trials. The
  modules the file itself imports must be importable on the workers (installed, or on ``PYTHONPATH``).
- a **module** is imported by its dotted name, with the working directory appended to ``sys.path``
  (as ``python -m`` has it); one found only there is pickled by value for Ray workers too.

Any problem is a :class:`StudyRefError` with a one-line message.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback
from pathlib import Path
from types import ModuleType

from bitterlab.study import Study

HINT = "a built-in name (bitterlab list), path/to/file.py:NAME or package.module:NAME"

_loaded: dict[str, Path] = {}  # module name -> file, for the files this process loaded
_refs: dict[str, str] = {}  # study name -> the reference it was resolved from (user studies only)


class StudyRefError(ValueError):
    """A study reference that names no study: missing file, failed import, missing attribute, not a Study,
    or a user study with a built-in study's name."""


def resolve(ref: str) -> Study:
    """The study ``ref`` names: a built-in study's name, ``file.py:NAME`` or ``package.module:NAME``."""
    from bitterlab.studies import STUDIES

    if ":" not in ref:
        if ref in STUDIES:
            return STUDIES[ref]
        if ref.endswith(".py"):
            raise StudyRefError(f"{ref}: name the study in it, e.g. {ref}:STUDY")
        raise StudyRefError(f"unknown study {ref!r} (known: {', '.join(STUDIES)}; or {HINT})")
    where, _, attr = ref.rpartition(":")
    if not where or not attr.isidentifier():
        raise StudyRefError(f"{ref}: not a study reference ({HINT})")
    is_file = where.endswith(".py") or "/" in where or os.sep in where
    module = _import_file(Path(where), ref) if is_file else _import_module(where, ref)
    if not hasattr(module, attr):
        found = [k for k, v in vars(module).items() if isinstance(v, Study)]
        raise StudyRefError(f"{ref}: module {module.__name__!r} has no attribute {attr!r} "
                            f"(studies in it: {', '.join(found) or 'none'})")
    study = getattr(module, attr)
    if not isinstance(study, Study):
        raise StudyRefError(f"{ref}: {attr!r} is not a bitterlab.study.Study (got {type(study).__name__})")
    if study.name in STUDIES and STUDIES[study.name] is not study:
        raise StudyRefError(f"{ref}: study name {study.name!r} is a built-in study's; rename it (results are "
                            "stored by study name)")
    for role in ("run", "run_batch", "batch_key"):
        fn = getattr(study, role)
        if fn is not None and "<" in getattr(fn, "__qualname__", "<"):  # <lambda>, <locals>: no name to import
            raise StudyRefError(f"{ref}: the study's {role} must be a module-level function (workers import it "
                                f"by name), got {getattr(fn, '__qualname__', type(fn).__name__)}")
    if study.name not in STUDIES:
        _refs[study.name] = ref
    return study


def reference(study: Study) -> str:
    """What names ``study`` on the command line: the reference it was resolved from, else its name."""
    return _refs.get(study.name, study.name)


def _import_file(path: Path, ref: str) -> ModuleType:
    """Import ``path`` as module ``path.stem``, its folder appended to ``sys.path`` (see the module doc)."""
    if not path.is_file():
        raise StudyRefError(f"{path}: no such file")
    path, name = path.resolve(), path.stem
    if path.suffix != ".py" or not name.isidentifier():
        raise StudyRefError(f"{path.name}: a study file must be a .py file named like a module "
                            "(letters, digits, underscores)")
    if _loaded.get(name, path) != path:  # this process loaded another file of that name: forget it
        _forget(name)
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    if spec is not None and (spec.origin is None or Path(spec.origin).resolve() != path):
        raise StudyRefError(f"{path.name}: its module name {name!r} is taken by {spec.origin or 'a package'} "
                            "(workers import the file by that name): rename the file")
    if str(path.parent) not in sys.path:
        sys.path.append(str(path.parent))
    module = _import(name, ref)
    _loaded[name] = path
    _ship_by_value(name)
    return module


def _import_module(name: str, ref: str) -> ModuleType:
    """Import a dotted module name, the working directory appended to ``sys.path`` (as ``python -m`` has
    it); a package found only there is pickled by value for Ray workers."""
    top = name.partition(".")[0]
    try:
        importable = importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        importable = False
    if not importable and os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
        importlib.invalidate_caches()
    module = _import(name, ref)
    if not importable:
        _ship_by_value(top)
    return module


def _import(name: str, ref: str) -> ModuleType:
    importlib.invalidate_caches()
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
            raise StudyRefError(f"{ref}: no module named {exc.name!r}") from None
        raise StudyRefError(f"{ref}: importing it failed: {_last_line(exc)}") from None
    except (Exception, SystemExit) as exc:
        raise StudyRefError(f"{ref}: importing it failed: {_last_line(exc)}") from None


def _last_line(exc: BaseException) -> str:
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    if isinstance(exc, SyntaxError) and exc.lineno:
        last += f" (line {exc.lineno})"
    return last


def _forget(name: str) -> None:
    """Unload a file module this process loaded, and drop its folder from ``sys.path`` if no other uses it."""
    folder = str(_loaded.pop(name).parent)
    sys.modules.pop(name, None)
    if folder in sys.path and all(str(p.parent) != folder for p in _loaded.values()):
        sys.path.remove(folder)


def _ship_by_value(module: str) -> None:
    from bitterlab.engine.ray_executor import pickle_by_value

    pickle_by_value(module)
