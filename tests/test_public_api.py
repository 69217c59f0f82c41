import ast
import importlib
from pathlib import Path

import pytest

import bitterlab

PACKAGES = ["bitterlab.engine", "bitterlab.analysis", "bitterlab.train", "bitterlab.report", "bitterlab.geometry",
            "bitterlab.studies"]


@pytest.mark.parametrize("name", PACKAGES)
def test_every_exported_name_exists(name):
    module = importlib.import_module(name)
    for exported in module.__all__:
        assert hasattr(module, exported), f"{name}.__all__ lists {exported!r}, which is not defined"


def test_geometry_imports_nothing_else_from_bitterlab():
    root = Path(bitterlab.__file__).parent / "geometry"
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bitterlab"):
                assert node.module.startswith("bitterlab.geometry"), f"{path.name} imports {node.module}"
