"""synack as a package: ``python -m synack``, one version, compatible dependency ranges, and a
wheel that installs into a clean virtual environment where ``synack demo`` runs."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

import synack

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_python_dash_m_synack_is_the_synack_command():
    out = subprocess.run([sys.executable, "-m", "synack", "--version"], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip().endswith(synack.__version__)
    bad = subprocess.run([sys.executable, "-m", "synack", "no-such-command"], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr


def test_the_version_is_written_once_and_read_back():
    assert synack.__version__ == importlib.metadata.version("synack") == PYPROJECT["project"]["version"]
    written = [p for p in (ROOT / "src").rglob("*.py") if PYPROJECT["project"]["version"] in p.read_text()]
    assert written == []


def test_runtime_dependencies_are_compatible_ranges_with_tested_versions_recorded():
    tested = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            tested[name.lower()] = version
    for req in PYPROJECT["project"]["dependencies"]:
        name = re.split(r"[<>=!~ \[;]", req, maxsplit=1)[0].lower()
        assert "==" not in req and ">=" in req and "<" in req, f"{req!r} is not a compatible range"
        assert name in tested, f"constraints.txt does not record the tested version of {name}"


@pytest.mark.slow
def test_the_wheel_installs_into_a_clean_venv_and_synack_demo_runs(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(ROOT)],
                   check=True, timeout=600, capture_output=True)
    (wheel,) = dist.glob("synack-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "synack/py.typed" in names and "synack/__main__.py" in names
    assert not [n for n in names if n.startswith("tests/")]
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    py = env / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", "-c", str(ROOT / "constraints.txt"), str(wheel)],
                   check=True, timeout=900, capture_output=True)
    demo = subprocess.run([str(env / "bin" / "synack"), "demo"], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path, env={"PATH": f"{env / 'bin'}:/usr/bin:/bin", "NO_COLOR": "1"})
    assert demo.returncode == 0, demo.stderr
    assert "TIME-WAIT" in demo.stdout
    version = subprocess.run([str(py), "-c", "import synack; print(synack.__version__)"], capture_output=True,
                             text=True, timeout=60, cwd=tmp_path, check=True)
    assert version.stdout.strip() == synack.__version__
