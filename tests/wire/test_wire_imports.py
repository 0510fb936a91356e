"""wire/ is pure: no I/O, no clocks, no randomness, no threads (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import synack.wire

FORBIDDEN = {"socket", "asyncio", "threading", "time", "random", "selectors"}
WIRE = Path(synack.wire.__file__).parent


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_wire_imports_nothing_impure():
    files = sorted(WIRE.glob("*.py"))
    assert files
    for path in files:
        assert not imported_modules(path) & FORBIDDEN, path.name


def test_wire_does_not_import_upper_layers():
    for path in sorted(WIRE.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert node.level <= 1 or node.module is None, (path.name, node.module)
                assert not (node.module or "").startswith(("synack.tcp", "synack.stack", "synack.link", "synack.api"))
