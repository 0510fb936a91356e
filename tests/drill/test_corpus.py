"""synack's own drill corpus (``tests/drill/scripts``): every script on the simulator with
the profile it names, and, where root and TUN exist, every ``linux``-profile script on
this machine's kernel too.

A script that fails because of a known gap of synack is listed in ``known_gaps.toml``
with the line where it fails; there it counts as an expected failure (xfail) — and as a
failure the moment it passes (the gap is fixed: remove the entry) or fails elsewhere.
A linux-profile script must pass on the kernel: that is how we know the script is right.
"""

from __future__ import annotations

import os

import pytest

from corpus import SCRIPTS_DIR, gaps, scripts
from synack.drill import Settings, parse_file, run_file
from synack.drill.output import text

ALL = scripts()
GAPS = gaps()
PROFILE = {s: parse_file(str(SCRIPTS_DIR / s)).profile for s in ALL}
LINUX = [s for s in ALL if PROFILE[s] == "linux"]

#: The kernel runs in real time on a machine shared with other work: timing is checked
#: with at least this tolerance there (the simulator keeps the scripts' own).
KERNEL_TOLERANCE_FLOOR_US = 10_000


def _judge(script: str, target: str, result) -> None:  # noqa: ANN001
    gap = GAPS.get((script, target))
    shown = text(result, verbose=False)
    if gap is None:
        assert result.status == "pass", shown
        return
    if result.status == "pass":
        pytest.fail(f"{script} now passes on {target}: the known gap is fixed, remove it from known_gaps.toml "
                    f"({gap.reason})")
    line = result.failure.line if result.failure else 0
    if result.status != "fail" or line != gap.line:
        pytest.fail(f"{script} fails at line {line}, not at the known gap's line {gap.line}:\n{shown}")
    pytest.xfail(f"known gap: {gap.reason}")


@pytest.mark.parametrize("script", ALL)
def test_script_on_the_simulator(script):
    result = run_file(str(SCRIPTS_DIR / script), "sim", Settings(seed=1), trace=False)
    _judge(script, "sim", result)


@pytest.fixture(scope="session")
def kernel_results():
    """Every linux-profile script on the kernel, several at once (each in a namespace of
    its own), run once for the session."""
    from synack.drill.batch import run_many
    from synack.drill.kernel import unavailable

    why = unavailable()
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the kernel target must run in CI, but {why}")
        pytest.skip(f"kernel target: {why}")
    seed = int.from_bytes(os.urandom(4), "big")
    settings = Settings(seed=seed, tolerance_floor_usecs=KERNEL_TOLERANCE_FLOOR_US)
    results = dict(zip(LINUX, run_many([str(SCRIPTS_DIR / s) for s in LINUX], "kernel", settings, jobs=12),
                       strict=True))
    # Real time on a shared machine: a script that failed among twelve at once runs again
    # alone; only a failure that repeats counts (a wrong script fails every time).
    again = [s for s, r in results.items() if r.status != "pass"]
    if again:
        results.update(zip(again, run_many([str(SCRIPTS_DIR / s) for s in again], "kernel", settings, jobs=1),
                           strict=True))
    return seed, results


@pytest.mark.parametrize("script", LINUX)
def test_linux_script_on_the_kernel(script, kernel_results):
    seed, results = kernel_results
    try:
        _judge(script, "kernel", results[script])
    except AssertionError as e:
        raise AssertionError(f"{e}\n(ports and ISNs from --seed {seed})") from None
