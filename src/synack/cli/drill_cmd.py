"""``synack drill SCRIPT...``: play packetdrill scripts against synack (``--target sim``,
the default: a virtual clock, no root) or against this machine's Linux kernel
(``--target kernel``: root, a TUN device in a namespace of its own per script)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from . import CliError, subcommand


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        v = -1
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 0, not {text!r}")
    return v


@subcommand("drill", "run packetdrill scripts against synack (simulator) or the Linux kernel")
def configure(p: argparse.ArgumentParser) -> Any:
    p.add_argument("scripts", nargs="+", metavar="SCRIPT", help="packetdrill script files (.pkt)")
    p.add_argument("--target", choices=("sim", "kernel"), default="sim",
                   help="sim: synack on a virtual clock (default); kernel: this machine's Linux (root)")
    p.add_argument("--profile", choices=("linux", "rfc"),
                   help="override the script's `// profile:` (linux or rfc; default linux)")
    p.add_argument("--ip_version", "--ip-version", choices=("ipv4", "ipv6"), dest="ip_version",
                   help="address family of the connection (default: the script's, else ipv4)")
    p.add_argument("--tolerance_usecs", "--tolerance-usecs", type=_positive_int, dest="tolerance_usecs",
                   metavar="US", help="timing tolerance in microseconds (default: the script's, else 4000)")
    p.add_argument("--seed", type=_positive_int, default=None,
                   help="seed for ports and the peer's ISN (sim default 1; kernel default random)")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="text (default) or JSON Lines, one object per script")
    p.add_argument("--html", metavar="FILE",
                   help="save the run's ladder as an HTML report (a directory when there are several scripts)")
    p.add_argument("--jobs", "-j", type=_positive_int, default=None,
                   help="scripts run at once (kernel default: up to 16; sim: 1)")
    p.add_argument("--verbose", "-v", action="store_true", help="list the checks that were skipped")
    return run


def run(args: argparse.Namespace) -> int:
    from ..drill import Settings
    from ..drill.batch import run_many
    from ..drill.output import json_line, summary, text, write_html

    for path in args.scripts:
        if not os.path.exists(path):
            raise CliError(f"{path}: no such file", 2)
        if os.path.isdir(path):
            raise CliError(f"{path}: is a directory, not a script", 2)
    if args.target == "kernel":
        from ..drill.kernel import unavailable

        why = unavailable()
        if why is not None:
            raise CliError(f"--target kernel needs root and /dev/net/tun: {why}", 2)
    seed = args.seed if args.seed is not None else (1 if args.target == "sim" else int.from_bytes(os.urandom(4), "big"))
    settings = Settings(seed=seed, profile=args.profile, tolerance_usecs=args.tolerance_usecs)
    if args.ip_version:
        settings.ip_version = 4 if args.ip_version == "ipv4" else 6
    html_dir = None
    if args.html and len(args.scripts) > 1:
        html_dir = args.html
        try:
            os.makedirs(html_dir, exist_ok=True)
        except OSError as e:
            raise CliError(f"--html: cannot create directory {html_dir}: {e.strerror or e}", 1) from None

    def show(r: Any) -> None:
        if args.format == "json":
            print(json_line(r), flush=True)
        else:
            print(text(r, verbose=args.verbose), flush=True)
        if args.html:
            dest = args.html if html_dir is None else os.path.join(
                html_dir, os.path.splitext(os.path.basename(r.path))[0] + ".html")
            try:
                write_html(r, dest)
            except OSError as e:
                raise CliError(f"--html: cannot write {dest}: {e.strerror or e}", 1) from None

    results = run_many(args.scripts, args.target, settings, jobs=args.jobs, keep_events=bool(args.html),
                       on_result=show)
    if args.format == "text" and len(results) > 1:
        print(summary(results))
    sys.stdout.flush()
    return 0 if all(r.status == "pass" for r in results) else 1
