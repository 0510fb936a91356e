"""``synack drill``: packetdrill scripts played against synack (on the simulator) or
against the Linux kernel (through a TUN device in a namespace of its own).

    from synack.drill import run_file
    result = run_file("tests/drill/scripts/handshake/passive-open.pkt")
    print(result.status, result.failure)

See docs/drill.md for the language and the targets.
"""

from __future__ import annotations

from .model import Script
from .parse import DrillSyntaxError, parse_file, parse_text
from .runner import Failure, Result, Runner, ScriptFailure, Settings, Target

__all__ = ["DrillSyntaxError", "Failure", "Result", "Runner", "Script", "Settings", "make_target", "parse_file",
           "parse_text", "run_file", "run_script"]

TARGETS = ("sim", "kernel")


def make_target(name: str, *, trace: bool = True) -> Target:
    """A fresh target: ``sim`` (synack on a virtual clock) or ``kernel`` (this machine's
    Linux through a TUN device in a namespace of its own)."""
    if name == "sim":
        from .sim import SimTarget

        return SimTarget(trace=trace)
    if name == "kernel":
        from .kernel import KernelTarget

        return KernelTarget(trace=trace)
    raise ValueError(f"target must be one of {', '.join(TARGETS)}, not {name!r}")


def run_script(script: Script, target: str = "sim", settings: Settings | None = None, *,
               trace: bool = True) -> Result:
    """Run a parsed script on a target."""
    try:
        runner = Runner(script, make_target(target, trace=trace), settings)
    except ScriptFailure as e:
        return Result(script.path, target, (settings and settings.profile) or script.profile or "linux", "error",
                      Failure(0, e.message))
    return runner.run()


def run_file(path: str, target: str = "sim", settings: Settings | None = None, *, trace: bool = True) -> Result:
    """Parse and run the script at ``path``; a parse error is an ``error`` result."""
    try:
        script = parse_file(path)
    except DrillSyntaxError as e:
        return Result(path, target, (settings and settings.profile) or "linux", "error",
                      Failure(e.line, str(e)))
    return run_script(script, target, settings, trace=trace)
