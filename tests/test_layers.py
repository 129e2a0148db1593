"""Module boundaries the import contract (``lint-imports``) cannot see: no module imports another
module's private name (one starting with ``_``)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def private_imports(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        if "versions" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module:
                found += [
                    f"{path.relative_to(root)}:{node.lineno}: {node.module}.{a.name}"
                    for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")
                ]
    return found


def test_no_private_name_is_imported_across_modules() -> None:
    assert private_imports(SRC) == []


def test_the_check_sees_a_private_import(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("from pss_core.services.games import _start\n")
    assert private_imports(tmp_path) == ["a.py:1: pss_core.services.games._start"]
