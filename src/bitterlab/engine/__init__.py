"""Trials → executors → store."""

from bitterlab.engine.batch import group_trials
from bitterlab.engine.executors import EXECUTORS, InlineExecutor, ProcessExecutor, make_executor
from bitterlab.engine.result import Result
from bitterlab.engine.run import Diverged, run_group, run_trial
from bitterlab.engine.runner import run_study
from bitterlab.engine.store import Store, StoreError

__all__ = ["EXECUTORS", "Diverged", "InlineExecutor", "ProcessExecutor", "Result", "Store", "StoreError",
           "group_trials", "make_executor", "run_group", "run_study", "run_trial"]
