"""The ``synack`` command.

Each subcommand lives in its own module in this package and registers itself through
:func:`subcommand`; ``main`` builds the argparse tree from :data:`MODULES`. Errors reach
the user as one line on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from typing import NoReturn

#: subcommand modules, in the order ``--help`` lists them
MODULES = ["synack.cli.demo_cmd", "synack.cli.trace_cmd", "synack.cli.net_cmd", "synack.cli.experiment_cmd",
           "synack.cli.drill_cmd"]

_REGISTRY: list[tuple[str, str, Callable]] = []


class CliError(Exception):
    """A user-facing error: printed as ``synack: <message>`` with exit status ``code``."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def subcommand(name: str, help: str) -> Callable:
    """Decorator for ``def configure(parser) -> handler``; ``handler(args) -> int``."""

    def register(configure: Callable) -> Callable:
        _REGISTRY.append((name, help, configure))
        return configure

    return register


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2 (argparse's convention)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    for mod in MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name != mod:
                raise
    parser = _Parser(prog="synack", description="TCP as RFC 9293 defines it: run it, break it, watch it.")
    parser.add_argument("--version", action="version", version=f"synack {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    seen = set()
    for name, help_text, configure in _REGISTRY:
        if name in seen:
            continue
        seen.add(name)
        p = sub.add_parser(name, help=help_text, description=help_text)
        handler = configure(p)
        p.set_defaults(handler=handler)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except CliError as e:
        print(f"synack: {e}", file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except (OSError, ValueError) as e:
        print(f"synack: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
