"""The layout the README promises: one folder per box of the data flow, arrows
pointing inward, no box reaching into another's private names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOXES = ("common", "ingest", "daily", "stream", "alerts", "services", "sim", "health",
         "people", "report")
# What each box may import besides itself, rules/ and schemas/ (README, "Every box is one folder").
MAY_IMPORT = {
    "common": set(),
    "ingest": {"common"},
    "daily": {"common", "people"},
    "stream": {"common", "alerts", "people"},
    "alerts": {"common"},
    "services": {"common"},
    "sim": {"common", "ingest"},
    "health": {"common", "ingest", "alerts"},
    "people": {"common", "alerts"},
    "report": {"common"},
}


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, imported names) of every import in the file, lazy ones included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
    return found


def test_spark_app_top_holds_only_the_command_and_the_boxes():
    top = {path.name for path in (ROOT / "spark_app").iterdir() if path.name != "__pycache__"}
    assert top == {"__init__.py", "cli.py", "demo.py", *BOXES}


@pytest.mark.parametrize("box", BOXES)
def test_each_box_says_what_it_does_and_what_it_may_import(box):
    doc = ast.get_docstring(ast.parse((ROOT / "spark_app" / box / "__init__.py").read_text()))
    assert doc and "import" in doc.lower() and len(doc.splitlines()) == 2


@pytest.mark.parametrize("package", ["rules", "schemas"])
def test_rules_and_schemas_import_nothing_of_spark_app(package):
    for path in (ROOT / package).rglob("*.py"):
        for module, _ in _imports(path):
            assert not module.startswith("spark_app"), (path, module)


@pytest.mark.parametrize("box", BOXES)
def test_arrows_point_inward(box):
    for path in (ROOT / "spark_app" / box).rglob("*.py"):
        for module, names in _imports(path):
            if not module.startswith("spark_app."):
                continue
            target = module.split(".")[1]
            if target != box:
                assert target in MAY_IMPORT[box], f"{path.relative_to(ROOT)} imports {module}"
                private = [name for name in names if name.startswith("_")]
                assert not private, f"{path.relative_to(ROOT)} imports {module}'s {private}"
