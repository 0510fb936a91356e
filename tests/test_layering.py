"""The architecture's rules, checked on the source: dependencies point one way
(wire <- tcp <- stack <- {link, api}; trace is a leaf anyone may import and that imports
nothing above wire), there are no import circles inside a layer, and the core (wire/, tcp/)
never imports I/O, clocks or randomness (STYLE rule 1)."""

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
    "trace": {"wire", "trace"},
    "scenarios": {"wire", "tcp", "stack", "link", "api", "trace", "scenarios"},
    "cli": {"wire", "tcp", "stack", "link", "api", "trace", "scenarios", "cli", "examples", "apps", "drill"},
    "drill": {"wire", "tcp", "stack", "link", "api", "trace", "drill"},  # the script interpreter
    "apps": {"api", "apps"},  # servers for `synack listen --app`, on the streams API
}
#: modules every layer may use (no internal dependencies)
SHARED = {"timeunits"}
FORBIDDEN_IN_CORE = {"socket", "asyncio", "threading", "time", "random", "selectors", "os", "subprocess"}


def _imports(path: Path, root: Path = SRC, *, runtime_only: bool = False,
             names: bool = False) -> list[tuple[str, int]]:
    """(module, line) of every import in ``path`` (a file under ``root``, the synack
    package directory); relative imports are resolved. ``runtime_only`` leaves out imports
    under ``if TYPE_CHECKING:``, which are never executed; ``names`` adds ``pkg.name`` for
    each name of ``from pkg import name`` (which may be a module)."""
    tree = ast.parse(path.read_text(), str(path))
    pkg_parts = path.relative_to(root).parts[:-1]
    skip: set[int] = set()
    if runtime_only:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(pkg_parts[: len(pkg_parts) - (node.level - 1)])
                mod = ".".join(["synack", *base] + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.append((mod, node.lineno))
            if names:
                found += [(f"{mod}.{a.name}", node.lineno) for a in node.names]
    return found


def violations(pkg: str, root: Path = SRC) -> list[str]:
    """Imports of package ``pkg`` (a directory under ``root``) that ALLOWED forbids."""
    bad = []
    for f in sorted((root / pkg).rglob("*.py")):
        for mod, line in _imports(f, root):
            parts = mod.split(".")
            if parts[0] != "synack" or len(parts) < 2:
                continue
            target = parts[1]
            if target in SHARED or target in ALLOWED[pkg]:
                continue
            bad.append(f"{f.relative_to(root)}:{line} imports {mod}")
    return bad


def cycles(pkg: str, root: Path = SRC, *, typing: bool = False) -> list[list[str]]:
    """Import circles among the modules of ``pkg``: runtime imports, and with ``typing``
    those under ``if TYPE_CHECKING:`` too."""
    files = {".".join(["synack", *f.relative_to(root).with_suffix("").parts]).removesuffix(".__init__"): f
             for f in (root / pkg).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, f in files.items():
        deps = set()
        for mod, _ in _imports(f, root, runtime_only=not typing, names=True):
            # ("from . import x" names module x; "from .x import y" names x; a module's own
            # parent packages are initialised before it, so they are no circle)
            if mod in files and mod != name and not name.startswith(mod + "."):
                deps.add(mod)
        graph[name] = deps
    found: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(n: str, stack: list[str]) -> None:
        state[n] = 1
        stack.append(n)
        for d in sorted(graph[n]):
            if state.get(d) == 1:
                found.append(stack[stack.index(d):] + [d])
            elif d not in state:
                visit(d, stack)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n, [])
    return found


@pytest.mark.parametrize("pkg", sorted(ALLOWED))
def test_dependencies_point_one_way(pkg):
    bad = violations(pkg)
    assert not bad, "layering violated:\n" + "\n".join(bad)


@pytest.mark.parametrize("pkg", sorted(ALLOWED))
def test_no_import_circles(pkg):
    found = cycles(pkg)
    assert not found, "import circles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_stack_modules_do_not_even_name_each_other_in_a_circle():
    """The host owns the connection table (stack/demux.py); the listeners and ICMP handling
    are handed the table and never import the host, not even for type annotations."""
    found = cycles("stack", typing=True)
    assert not found, "import circles:\n" + "\n".join(" -> ".join(c) for c in found)


@pytest.mark.parametrize("pkg", ["wire", "tcp"])
def test_core_is_sans_io(pkg):
    bad = [
        f"{f.relative_to(SRC)}:{line} imports {mod}"
        for f in sorted((SRC / pkg).rglob("*.py"))
        for mod, line in _imports(f)
        if mod.split(".")[0] in FORBIDDEN_IN_CORE
    ]
    assert not bad, "sans-IO rule broken:\n" + "\n".join(bad)


def test_layering_check_sees_a_violation(tmp_path):
    """The checkers themselves must notice a bad import and a circle (so the tests above
    can fail): a trace module that imports from tcp, and two stack modules that import
    each other."""
    (tmp_path / "trace").mkdir()
    (tmp_path / "trace" / "bad.py").write_text("from ..tcp.cc.reno import INITIAL_SSTHRESH\nfrom . import events\n")
    (tmp_path / "trace" / "good.py").write_text("from ..wire.seq import Seq\nfrom ..timeunits import ms\n")
    assert violations("trace", tmp_path) == ["trace/bad.py:1 imports synack.tcp.cc.reno"]
    (tmp_path / "stack").mkdir()
    (tmp_path / "stack" / "a.py").write_text("from .b import B\n")
    (tmp_path / "stack" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .c import C\nfrom . import a\n")
    (tmp_path / "stack" / "c.py").write_text("from .b import B\n")
    assert cycles("stack", tmp_path) == [["synack.stack.a", "synack.stack.b", "synack.stack.a"]]
    assert cycles("stack", tmp_path, typing=True) == [["synack.stack.a", "synack.stack.b", "synack.stack.a"],
                                                      ["synack.stack.b", "synack.stack.c", "synack.stack.b"]]


def test_trace_keeps_the_initial_ssthresh_of_the_algorithms():
    """trace/plot.py keeps its own copy of the "arbitrarily high" initial ssthresh (it
    imports nothing from tcp); it must stay the algorithms' value."""
    from synack.tcp.cc.reno import INITIAL_SSTHRESH
    from synack.trace.plot import INITIAL_SSTHRESH as PLOTTED

    assert PLOTTED == INITIAL_SSTHRESH
