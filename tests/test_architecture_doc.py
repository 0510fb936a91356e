"""docs/architecture.md names only modules, classes and methods that exist.

The page says what each module owns and how a segment travels from a link to ``recv()``;
when code moves, this test fails until the page follows. It checks every module path
(``tcp/sender.py``, ``tcp/cc/``, ``tests/test_layering.py``) and every class or
``Class.method`` written in backquotes (``Sender``, ``Host.deliver``)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import synack

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "synack"
DOC = ROOT / "docs" / "architecture.md"

_PACKAGES = ("wire", "tcp", "stack", "link", "api", "trace", "scenarios", "cli", "apps", "examples")
#: a path under src/synack (``tcp/sender.py``, ``tcp/cc/``) or under the repository (``tests/...``)
_PATH = re.compile(r"(?<![\w/.])((?:" + "|".join(_PACKAGES) + r"|tests|docs|benchmarks)/[\w/]*(?:\.py|\.md|/))")
#: a backquoted CamelCase name, optionally with one attribute: `Sender`, `Host.deliver(...)`
_NAME = re.compile(r"`([A-Z][a-z]\w*(?:\.\w+)?)(?:\([^`]*\))?`")


def _names() -> dict[str, list]:
    """Every class (and function) defined in synack, by name."""
    found: dict[str, list] = {}
    for mod in pkgutil.walk_packages(synack.__path__, "synack."):
        if mod.name.endswith(".__main__"):
            continue  # (importing it runs the command)
        try:
            m = importlib.import_module(mod.name)
        except ImportError:  # (an optional dependency of a view or the CLI)
            continue
        for name, obj in vars(m).items():
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and getattr(obj, "__module__", "") == m.__name__:
                found.setdefault(name, []).append(obj)
    return found


def problems(text: str) -> list[str]:
    """What the page names that does not exist."""
    bad = []
    for path in sorted(set(_PATH.findall(text))):
        base = ROOT if path.split("/")[0] in ("tests", "docs", "benchmarks") else SRC
        if not (base / path).exists():
            bad.append(f"no module {path}")
    names = _names()
    for ref in sorted(set(_NAME.findall(text))):
        cls, _, attr = ref.partition(".")
        objs = names.get(cls)
        if not objs:
            bad.append(f"no class {cls} in synack")
        elif attr and not any(hasattr(o, attr) for o in objs):
            bad.append(f"{cls} has no {attr}")
    return bad


def test_architecture_doc_names_only_what_exists():
    text = DOC.read_text(encoding="utf-8")
    assert _PATH.findall(text), "the page should name modules"
    bad = problems(text)
    assert not bad, "docs/architecture.md is out of date:\n" + "\n".join(bad)


def test_the_check_sees_a_module_or_method_that_does_not_exist():
    """The checker itself must notice (so the test above can fail)."""
    assert problems("`tcp/sender.py` owns SND.*; `Sender.ack_arrives`") == []
    assert problems("`tcp/nosuch.py` owns nothing") == ["no module tcp/nosuch.py"]
    assert problems("`stack/` and `Sender.no_such_method`") == ["Sender has no no_such_method"]
    assert problems("`Nonexistent` does the work") == ["no class Nonexistent in synack"]
