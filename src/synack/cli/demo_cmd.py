"""``synack demo``: run a scenario on the simulator and show it.

``synack demo`` runs the whole story of the seeds (``story``); ``synack demo NAME`` runs
another scenario; ``synack demo --list`` lists them. The text output is the ladder
diagram, then the scenario's explanation (``--lang en|ko``), then notes on what happened
in this run. ``--format json`` prints the trace as JSON Lines instead; ``--pcap`` and
``--html`` also save it as a capture or a report.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from typing import Any

from . import CliError, subcommand
from .values import probability

DEFAULT_SCENARIO = "story"
#: the widest the explanation is wrapped to, even on a wide terminal
MAX_TEXT_WIDTH = 100
#: the longest one-way delay --delay accepts, ms
MAX_DELAY_MS = 60_000.0

_DELAY = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(us|ms|s)?\s*$")


# ------------------------------------------------------------------------------ argument types
def parse_loss(text: str) -> float:
    """``--loss``: a probability in [0, 1], or a percentage such as ``5%``."""
    return probability(text)


def parse_delay(text: str) -> int:
    """``--delay``: one-way delay in ms (``10``, ``10ms``, ``0.5s``, ``500us``), as ns."""
    m = _DELAY.match(text)
    if not m:
        raise argparse.ArgumentTypeError(
            f"must be a time such as 10, 10ms, 0.5s or 500us (milliseconds by default), not {text!r}")
    value, unit = float(m[1]), m[2] or "ms"
    msec = value * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]
    if not msec <= MAX_DELAY_MS:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_DELAY_MS / 1000:g} s, not {text!r}")
    return int(round(msec * 1_000_000))


def parse_drop(text: str) -> int:
    """``--drop``: a segment number, counting from 1."""
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(
            f"must be a segment number (1 is the first segment sent), not {text!r}")
    return n


def parse_width(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 40:
        raise argparse.ArgumentTypeError(f"must be a number of columns, at least 40, not {text!r}")
    return n


# ------------------------------------------------------------------------------ the command
@subcommand("demo", "run a scenario on the simulator and show it (the whole story by default)")
def configure(p: argparse.ArgumentParser) -> Any:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.description = (
        "Run a TCP scenario on the simulator and show it: a ladder diagram of every segment\n"
        "and state change, a plain-language explanation, and what happened in this run.\n"
        f"Without NAME, runs '{DEFAULT_SCENARIO}': 3-way handshake, a request and a reply,\n"
        "4-way close and TIME-WAIT.")
    p.epilog = ("examples:\n"
                "  synack demo                      the whole story\n"
                "  synack demo --list               every scenario, one a line\n"
                "  synack demo lost-syn --lang ko   SYN retransmissions, explained in Korean\n"
                "  synack demo handshake --drop 2   lose the SYN,ACK\n"
                "  synack demo close --format json  the trace as JSON Lines")
    p.add_argument("name", nargs="?", default=DEFAULT_SCENARIO, metavar="NAME",
                   help=f"the scenario to run (default: {DEFAULT_SCENARIO}); --list shows them all")
    p.add_argument("--list", action="store_true", help="list the scenarios, one a line, and exit")
    g = p.add_argument_group("the network")
    g.add_argument("--seed", type=int, default=1, metavar="N",
                   help="seed of every random choice: the same seed gives the same run (default 1)")
    g.add_argument("--loss", type=parse_loss, default=0.0, metavar="P",
                   help="probability that any segment is lost, 0..1 or a percentage (default 0)")
    g.add_argument("--delay", type=parse_delay, default=None, metavar="MS",
                   help="one-way delay of every path: 10, 10ms, 0.5s, 500us (default 10 ms)")
    g.add_argument("--profile", choices=("linux", "rfc"), default="linux",
                   help="TCP personality: linux (Linux 6.x on the wire, default) or rfc (RFC 9293 strictly)")
    g.add_argument("--drop", type=parse_drop, action="append", default=[], metavar="N",
                   help="drop the Nth segment sent on the network (1 is the first); may repeat")
    g = p.add_argument_group("what is shown")
    g.add_argument("--lang", choices=("en", "ko"), default="en",
                   help="language of the explanation and notes: en (default) or ko (Korean)")
    g.add_argument("--format", choices=("text", "json"), default="text",
                   help="text: ladder, explanation, notes (default); json: the trace as JSON Lines")
    numbers = g.add_mutually_exclusive_group()
    numbers.add_argument("--absolute", action="store_true", default=None,
                         help="raw sequence and acknowledgment numbers instead of relative ones")
    numbers.add_argument("--relative", dest="absolute", action="store_false",
                         help="numbers relative to each side's initial sequence number, as tcpdump "
                              "prints them (the default, except in scenarios that use an RFC "
                              "figure's numbers)")
    g.add_argument("--notation", choices=("tcpdump", "rfc"), default="tcpdump",
                   help="segment labels like tcpdump (default) or RFC 9293's <SEQ=..><ACK=..><CTL=..>")
    g.add_argument("--no-color", action="store_true", help="plain text, no colors (NO_COLOR works too)")
    g.add_argument("--width", type=parse_width, default=None, metavar="COLS",
                   help="width of the output in columns (default: the terminal's, or 100 when "
                        "the output is not a terminal)")
    g = p.add_argument_group("files")
    g.add_argument("--pcap", metavar="FILE", help="also save the trace as a pcapng capture (for Wireshark)")
    g.add_argument("--html", metavar="FILE", help="also save the trace as a self-contained HTML report")
    return run


def run(args: argparse.Namespace) -> int:
    from .. import scenarios

    if args.list:
        print_list(scenarios.load_all(), sys.stdout)
        return 0
    try:
        sc = scenarios.get(args.name)
    except ValueError as e:
        raise CliError(str(e)) from None
    opts = scenarios.ScenarioOptions(seed=args.seed, loss=args.loss, drop=list(args.drop), lang=args.lang,
                                     profile=args.profile)
    if args.delay is not None:
        opts.delay = args.delay
    try:
        result = sc.run(opts)
    except Exception as e:  # a scenario's bug must not reach the user as a traceback
        if os.environ.get("SYNACK_DEBUG"):
            raise
        raise CliError(f"scenario {sc.name!r} failed: {type(e).__name__}: {e}", 1) from None
    events = result.net.recorder.events
    names = result.net.recorder.names
    hosts = list(result.hosts)
    # Files first: an error there is the only output.
    if args.pcap:
        _write_file("--pcap", args.pcap, "synack.trace.pcapng", "write_pcapng",
                    lambda f: f(events, args.pcap, names=names))
    if args.html:
        from ..scenarios import i18n

        title = f"synack demo {sc.name}: {sc.summary}"
        explanation = "\n\n".join(i18n.explanation(sc.explain, args.lang))
        _write_file("--html", args.html, "synack.trace.html", "write_html",
                    lambda f: f(events, args.html, title=title, hosts=hosts, names=names,
                                explanation=explanation, notes=result.notes, lang=args.lang))
    if args.format == "json":
        from ..trace.jsonl import write_jsonl

        write_jsonl(events, sys.stdout, names=names)
        return 0
    out = sys.stdout
    color = False if (args.no_color or os.environ.get("NO_COLOR")) else None
    columns = args.width or shutil.get_terminal_size((100, 24)).columns
    absolute = bool(getattr(result, "absolute", False)) if args.absolute is None else args.absolute
    out.write(ladder(result, absolute=absolute, color=color, width=columns, notation=args.notation))
    out.write("\n")
    text_width = max(40, min(columns, MAX_TEXT_WIDTH))
    out.write("\n".join(story_text(sc, result, args.lang, text_width)))
    out.write("\n")
    return 0


def _write_file(option: str, path: str, module: str, func: str, call: Any) -> None:
    """Import ``module.func`` and ``call`` it; any failure is one line naming ``option``."""
    import importlib

    try:
        writer = getattr(importlib.import_module(module), func)
    except (ImportError, AttributeError):
        raise CliError(f"{option}: this synack has no {module}.{func}, so it cannot write {path}",
                       1) from None
    try:
        call(writer)
    except OSError as e:
        raise CliError(f"{option}: cannot write {path}: {e.strerror or e}", 1) from None


def print_list(registry: dict, out: Any) -> None:
    """One scenario a line: its name, then its one-line summary, aligned."""
    w = max((len(n) for n in registry), default=0)
    for name, sc in registry.items():
        summary = " ".join(str(sc.summary).split())
        out.write(f"{name:<{w}}  {summary}\n")


def ladder(result: Any, *, absolute: bool = False, color: bool | None = None, width: int | None = None,
           notation: str = "tcpdump") -> str:
    """The ladder diagram of a scenario's trace, as text (no trailing newline)."""
    from ..trace.ladder import ladder_from_events

    out = ladder_from_events(result.net.recorder.events, names=result.net.recorder.names, hosts=list(result.hosts),
                             absolute=absolute, color=color, width=width, notation=notation,
                             ports=bool(getattr(result, "ports", False)))
    return out.rstrip("\n")


def story_text(sc: Any, result: Any, lang: str, width: int) -> list[str]:
    """The lines after the ladder: a blank line, the explanation, and the notes."""
    from ..scenarios import i18n

    lines: list[str] = []
    for para in i18n.explanation(sc.explain, lang):
        lines.append("")
        lines.extend(i18n.wrap(para, width))
    if result.notes:
        lines.append("")
        lines.append(i18n.text("notes", lang))
        for note in result.notes:
            lines.extend(i18n.wrap(note, width, first="- ", rest="  "))
    return lines
