"""The store: one DuckDB file, one row per trial, keyed by the trial's hash.

Each result is written in its own transaction by the driver process alone, so an interrupted run
(Ctrl-C or ``kill -9``) loses at most the trials in flight; DuckDB's write-ahead log keeps the
file consistent, and the primary key makes a duplicate row impossible.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import duckdb
import pandas as pd

from bitterlab.engine.result import Result

# 2: column x2 (the secondary axis's value); 3: columns tuned, validation, converged, curve (the fair-duel
# protocol); 4: column censored (JSON list of the metrics that are lower bounds at a cap). Older files get the
# new columns on open (NULL / empty: untuned, no validation recorded, nothing censored).
SCHEMA_VERSION = 4
DEFAULT_STORE = Path("bitterlab-runs/results.duckdb")

_COLUMNS = """
    key VARCHAR PRIMARY KEY,
    study VARCHAR NOT NULL,
    version VARCHAR NOT NULL,
    task VARCHAR NOT NULL,
    contender VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    x DOUBLE NOT NULL,
    seed INTEGER NOT NULL,
    budget VARCHAR NOT NULL,
    status VARCHAR NOT NULL CHECK (status IN ('ok', 'failed')),
    reason VARCHAR NOT NULL,
    metrics VARCHAR NOT NULL,
    params BIGINT NOT NULL,
    flops DOUBLE NOT NULL,
    steps BIGINT NOT NULL,
    wall_s DOUBLE NOT NULL,
    device VARCHAR NOT NULL,
    versions VARCHAR NOT NULL,
    finished_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    x2 DOUBLE,
    tuned VARCHAR,
    validation VARCHAR,
    converged BOOLEAN,
    curve VARCHAR,
    censored VARCHAR
"""
# columns added after schema 1, with their types: added to older files on open
_ADDED = (("x2", "DOUBLE"), ("tuned", "VARCHAR"), ("validation", "VARCHAR"), ("converged", "BOOLEAN"),
          ("curve", "VARCHAR"), ("censored", "VARCHAR"))
_JSON = ("metrics", "versions", "tuned", "validation")  # columns stored as JSON text of a mapping
FIELDS = ("key", "study", "version", "task", "contender", "role", "x", "seed", "budget", "status", "reason",
          "metrics", "params", "flops", "steps", "wall_s", "device", "versions", "x2", "tuned", "validation",
          "converged", "curve", "censored")


class StoreError(RuntimeError):
    """The store cannot be opened or written (bad path, no permission, locked by another run)."""


class Store:
    """A DuckDB results file. Use as a context manager; ``read_only`` for analysis."""

    def __init__(self, path: str | Path = DEFAULT_STORE, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._con: duckdb.DuckDBPyConnection | None = None

    def __enter__(self) -> Store:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        try:
            if self.read_only:
                if not self.path.exists():
                    raise StoreError(f"store {self.path} does not exist (run a study first, or pass --store)")
                self._con = duckdb.connect(str(self.path), read_only=True)
                return
            _check_parent(self.path)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._con = duckdb.connect(str(self.path))
            self._con.execute(f"CREATE TABLE IF NOT EXISTS results ({_COLUMNS})")
            for name, kind in _ADDED:  # schema 1, 2 or 3 -> 4
                self._con.execute(f"ALTER TABLE results ADD COLUMN IF NOT EXISTS {name} {kind}")
            self._con.execute("CREATE TABLE IF NOT EXISTS meta (name VARCHAR PRIMARY KEY, value VARCHAR)")
            self._con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
        except StoreError:
            raise
        except (duckdb.Error, OSError) as exc:
            raise StoreError(f"cannot open store {self.path}: {_first_line(exc)}") from exc

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise StoreError("store is not open")
        return self._con

    def _read(self, sql: str, args: list | None = None) -> duckdb.DuckDBPyConnection:
        """Run a query; a damaged file (truncated, flipped bits) is a StoreError, not a traceback."""
        try:
            return self.con.execute(sql, args or [])
        except duckdb.Error as exc:
            raise StoreError(f"cannot read store {self.path} (damaged or truncated?): {_first_line(exc)}") from exc

    def has_results(self) -> bool:
        tables = self._read("SELECT table_name FROM information_schema.tables").fetchall()
        return ("results",) in tables

    def keys(self, *, status: str | None = None) -> set[str]:
        if not self.has_results():
            return set()
        sql, args = "SELECT key FROM results", []
        if status is not None:
            sql, args = sql + " WHERE status = ?", [status]
        return {row[0] for row in self._read(sql, args).fetchall()}

    def write(self, result: Result) -> None:
        """Insert one result in its own transaction; an existing row with the key is replaced."""
        row = [getattr(result, f) for f in FIELDS]
        for name in _JSON:
            row[FIELDS.index(name)] = json.dumps(dict(getattr(result, name)), sort_keys=True)
        curve = result.curve
        row[FIELDS.index("curve")] = None if curve is None else json.dumps(
            {"steps": list(curve.steps), "train": list(curve.train), "validation": list(curve.validation)})
        row[FIELDS.index("censored")] = json.dumps(sorted(result.censored)) if result.censored else None
        cols = ", ".join(FIELDS)
        marks = ", ".join("?" for _ in FIELDS)
        try:
            self.con.execute(f"INSERT OR REPLACE INTO results ({cols}) VALUES ({marks})", row)
        except duckdb.Error as exc:
            raise StoreError(f"cannot write to store {self.path}: {_first_line(exc)}") from exc

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the file (DuckDB ``CHECKPOINT``), so that a run reports success
        only once its results are in the file itself; a failure (e.g. a full disk) is a StoreError."""
        try:
            self.con.execute("CHECKPOINT")
        except duckdb.Error as exc:
            raise StoreError(f"cannot checkpoint store {self.path}: {_first_line(exc)} (the results so far are "
                             f"in {self.path}.wal; free space, then rerun the same command)") from exc

    def frame(self, studies: Iterable[str] | None = None) -> pd.DataFrame:
        """All rows (optionally of some studies), metrics expanded into one column each."""
        if not self.has_results():
            return _expand(pd.DataFrame(columns=[*FIELDS, "finished_at"]))
        sql, args = "SELECT * FROM results", []
        names = list(studies) if studies is not None else None
        if names is not None:
            sql += f" WHERE study IN ({', '.join('?' for _ in names)})"
            args = names
        cursor = self._read(sql + " ORDER BY study, task, contender, x, seed", args)
        try:
            return _expand(cursor.df())
        except duckdb.Error as exc:
            raise StoreError(f"cannot read store {self.path} (damaged or truncated?): {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _check_parent(path: Path) -> None:
    """A store's nearest existing ancestor must be a folder (mkdir would say only 'File exists')."""
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise StoreError(f"cannot open store {path}: {parent} is a file, not a folder")
            return


def _expand(df: pd.DataFrame) -> pd.DataFrame:
    """Parse the JSON columns; add one float column per metric (NaN where a row lacks it).

    ``tuned`` and ``validation`` become dicts ({} when absent), ``curve`` a dict of lists or None,
    ``converged`` True / False / None, ``censored`` a list of metric names ([] when none)."""
    df = df.copy()
    for name, _ in _ADDED:  # an older file opened read-only
        if name not in df.columns:
            df[name] = None
    df["x2"] = df["x2"].astype(float)
    for name in _JSON:
        df[name] = [json.loads(v) if isinstance(v, str) else {} for v in df[name]]
    df["curve"] = [json.loads(v) if isinstance(v, str) else None for v in df["curve"]]
    df["censored"] = [json.loads(v) if isinstance(v, str) else [] for v in df["censored"]]
    df["converged"] = pd.Series([None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else bool(v)
                                 for v in df["converged"]], index=df.index, dtype=object)
    metrics = list(df["metrics"])
    names = sorted({k for m in metrics for k in m})
    for name in names:
        column = name if name not in df.columns else f"metric_{name}"
        df[column] = [float(m.get(name, float("nan"))) for m in metrics]
    return df


def export(df: pd.DataFrame, path: str | Path, fmt: str) -> Path:
    """Write results to Parquet or CSV (JSON columns kept as JSON text). The file appears whole or not at
    all: it is written beside the target and renamed (a full disk leaves no truncated export)."""
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"unknown export format {fmt!r} (use parquet or csv)")
    out = df.copy()
    for name in (*_JSON, "curve", "censored"):
        if name in out:
            out[name] = [None if v is None else json.dumps(v, sort_keys=True) for v in out[name]]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.part")
    try:
        if fmt == "parquet":
            out.to_parquet(part, index=False)
        else:
            out.to_csv(part, index=False)
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)
    return path
