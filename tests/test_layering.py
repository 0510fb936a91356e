"""The architecture's rules, checked on the source: dependencies point one way
(wire <- tcp <- stack <- {link, api}; trace is a leaf anyone may import) and the core
(wire/, tcp/) never imports I/O, clocks or randomness (STYLE rule 1)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "synack"

#: package -> synack packages it may import
ALLOWED = {
    "wire": {"wire"},
    "tcp": {"wire", "tcp", "trace"},
    "stack": {"wire", "tcp", "stack", "trace"},
    "link": {"wire", "tcp", "stack", "link", "trace"},
    "api": {"wire", "tcp", "stack", "link", "api", "trace"},
    "trace": {"wire", "tcp", "trace"},
    "scenarios": {"wire", "tcp", "stack", "link", "api", "trace", "scenarios"},
    "cli": {"wire", "tcp", "stack", "link", "api", "trace", "scenarios", "cli", "examples", "apps", "drill"},
    "drill": {"wire", "tcp", "stack", "link", "api", "trace", "drill"},  # the script interpreter
    "apps": {"api", "apps"},  # servers for `synack listen --app`, on the streams API
}
#: modules every layer may use (no internal dependencies)
SHARED = {"timeunits"}
FORBIDDEN_IN_CORE = {"socket", "asyncio", "threading", "time", "random", "selectors", "os", "subprocess"}


def _imports(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(), str(path))
    pkg_parts = path.relative_to(SRC).parts[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(pkg_parts[: len(pkg_parts) - (node.level - 1)])
                mod = ".".join(["synack", *base] + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.append((mod, node.lineno))
    return found


def _files(pkg: str) -> list[Path]:
    return sorted((SRC / pkg).rglob("*.py"))


@pytest.mark.parametrize("pkg", sorted(ALLOWED))
def test_dependencies_point_one_way(pkg):
    bad = []
    for f in _files(pkg):
        for mod, line in _imports(f):
            parts = mod.split(".")
            if parts[0] != "synack" or len(parts) < 2:
                continue
            target = parts[1]
            if target in SHARED or target in ALLOWED[pkg]:
                continue
            bad.append(f"{f.relative_to(SRC)}:{line} imports {mod}")
    assert not bad, "layering violated:\n" + "\n".join(bad)


@pytest.mark.parametrize("pkg", ["wire", "tcp"])
def test_core_is_sans_io(pkg):
    bad = [
        f"{f.relative_to(SRC)}:{line} imports {mod}"
        for f in _files(pkg)
        for mod, line in _imports(f)
        if mod.split(".")[0] in FORBIDDEN_IN_CORE
    ]
    assert not bad, "sans-IO rule broken:\n" + "\n".join(bad)


def test_layering_check_sees_a_violation(tmp_path):
    """The checker itself must notice a bad import (so the tests above can fail)."""
    p = SRC / "tcp" / "connection.py"
    assert any(m.startswith("synack.wire") for m, _ in _imports(p))
