"""``synack trace FILE``: draw a saved trace (JSON Lines) or a capture (pcap, pcapng).

The format is recognised from the file's first bytes, not its name: pcapng and pcap
(either byte order) by their magic numbers, JSON Lines by a leading ``{``. A capture from
real traffic (``tcpdump -i lo -w FILE``) draws like a simulated run: its states are
inferred from the segments through the core's own transition table
(``synack.tcp.state.TRANSITIONS``, passed into ``trace/``, which imports nothing from
``tcp/``), and each segment gets Wireshark-style analysis flags. A capture cut short is
read up to the cut, with a warning. ``--html``, ``--plot`` and ``--format json`` write the
report, the TCP stream graphs and the records.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys

from . import CliError, subcommand

_PCAP_MAGICS = {b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"}
_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"


def detect_format(path: str) -> str:
    """"jsonl", "pcap" or "pcapng", from the first bytes of ``path``. CliError otherwise."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except FileNotFoundError:
        raise CliError(f"{path}: no such file", 1) from None
    except IsADirectoryError:
        raise CliError(f"{path}: is a directory, not a trace file", 1) from None
    except OSError as e:
        raise CliError(f"{path}: cannot read: {e.strerror or e}", 1) from None
    if head[:4] == _PCAPNG_MAGIC:
        return "pcapng"
    if head[:4] in _PCAP_MAGICS:
        return "pcap"
    if head.lstrip()[:1] == b"{":
        return "jsonl"
    if not head:
        raise CliError(f"{path}: empty file, not a trace", 1)
    raise CliError(f"{path}: unknown format (expected JSON Lines, pcap or pcapng)", 1)


def _names(spec: str | None) -> dict[str, str]:
    names: dict[str, str] = {}
    if not spec:
        return names
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        addr, sep, name = item.partition("=")
        if not sep or not addr.strip() or not name.strip():
            raise CliError(f"--names: expected ADDR=NAME[,ADDR=NAME...], got {item!r}")
        names[addr.strip()] = name.strip()
    return names


def _hosts(spec: str | None) -> list[str] | None:
    if spec is None:
        return None
    hosts = [h.strip() for h in spec.split(",") if h.strip()]
    if not hosts:
        raise CliError("--hosts: expected one or more host names separated by commas")
    return hosts


def _warn(message: str) -> None:
    print(f"synack: warning: {message}", file=sys.stderr)


def load(path: str, names: dict | None = None) -> list[dict]:
    """The records of a trace file of any supported format (CliError on any problem; a
    capture cut short is read up to the cut, with a warning on stderr)."""
    fmt = detect_format(path)
    try:
        if fmt == "jsonl":
            from ..trace.jsonl import read_jsonl

            records = read_jsonl(path)
            if names:
                records = [_rename(r, names) for r in records]
            return records
        from ..trace.pcapng import read_capture

        return read_capture(path, names, warn=_warn)
    except (ValueError, OSError) as e:
        raise CliError(str(e), 1) from None


def _rename(r: dict, names: dict) -> dict:
    """Apply ``--names`` to a JSON Lines record (ends still named by address)."""
    from ..trace.records import host_name

    if r.get("event") not in ("send", "recv", "drop"):
        return r
    r = dict(r)
    src = host_name(r.get("src_addr"), names, r.get("src_port"))
    dst = host_name(r.get("dst_addr"), names, r.get("dst_port"))
    if src and r.get("src") == r.get("src_addr"):
        if r.get("host") == r.get("src"):
            r["host"] = src
        r["src"] = src
    if dst and r.get("dst") == r.get("dst_addr"):
        if r.get("host") == r.get("dst"):
            r["host"] = dst
        r["dst"] = dst
    return r


@subcommand("trace", help="draw a saved trace (JSON Lines) or a pcap/pcapng capture: ladder, HTML, graphs")
def configure(p: argparse.ArgumentParser):
    p.add_argument("file", metavar="FILE", help="a JSON Lines trace (synack demo --format json), or a "
                                                "pcap/pcapng capture (synack demo --pcap, tcpdump -w)")
    p.add_argument("--absolute", action="store_true", help="show raw sequence numbers, not relative ones")
    p.add_argument("--notation", choices=("tcpdump", "rfc"), default="tcpdump",
                   help="segment labels like tcpdump (default) or RFC 9293's <SEQ=..><ACK=..><CTL=..>")
    p.add_argument("--no-color", action="store_true", help="plain text (also when NO_COLOR is set or "
                                                          "the output is not a terminal)")
    p.add_argument("--hosts", metavar="A,B", help="lifelines to draw, left to right "
                                                  "(default: every host, in order of appearance)")
    p.add_argument("--names", metavar="ADDR=NAME,...",
                   help="name addresses (or ADDR:PORT endpoints), e.g. 127.0.0.1:8080=server")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="text: the ladder (default); json: the records as JSON Lines")
    p.add_argument("--width", type=_width, metavar="N", help="stretch the arrows so lines are N columns wide")
    p.add_argument("--no-timers", action="store_true", help="leave out timer notes")
    p.add_argument("--html", metavar="FILE", help="also write the self-contained HTML report")
    p.add_argument("--plot", metavar="FILE", help="also draw the TCP stream graphs (time-sequence, throughput, "
                                                 "RTT, window scaling) into FILE: .png, .svg or .pdf")
    p.add_argument("--title", metavar="TEXT", help="title of the HTML report and the graphs (default: the file name)")
    return run


def _plot(records: list, path: str, title: str) -> None:
    from ..trace.streamgraph import FORMATS, plot, streams
    from ..trace.timeline import Timeline

    if not path.lower().endswith(FORMATS):
        raise CliError(f"--plot: {path}: the graphs are written as {', '.join(FORMATS)}, by the file's extension")
    directions = streams(Timeline(records))
    if not directions:
        raise CliError("--plot: no segment in the trace carried data, so there is nothing to graph", 1)
    try:
        plot(directions, path, title)
    except OSError as e:
        raise CliError(f"--plot: cannot write {path}: {e.strerror or e}", 1) from None


def _width(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of columns, got {text!r}") from None
    if not 20 <= n <= 1000:
        raise argparse.ArgumentTypeError(f"must be between 20 and 1000, got {n}")
    return n


def run(args: argparse.Namespace) -> int:
    from ..tcp.state import TRANSITIONS

    names = _names(args.names)
    hosts = _hosts(args.hosts)
    path = os.fspath(args.file)
    records = load(path, names)
    title = args.title or os.path.basename(path)
    if args.plot:
        _plot(records, args.plot, title)
    if args.html:
        from ..trace.html import write_report

        try:
            write_report(records, args.html, title=f"synack trace {title}", hosts=hosts, transitions=TRANSITIONS)
        except ValueError as e:
            raise CliError(f"--html: {e}") from None
        except OSError as e:
            raise CliError(f"--html: cannot write {args.html}: {e.strerror or e}", 1) from None
    out = sys.stdout
    if args.format == "json":
        from ..trace.jsonl import write_records

        write_records(records, out)
        return 0
    from ..trace.ladder import render_ladder

    try:
        text = render_ladder(records, hosts=hosts, absolute=args.absolute, notation=args.notation,
                             color=False if args.no_color else None,
                             width=args.width or shutil.get_terminal_size((100, 24)).columns,
                             timers=not args.no_timers, transitions=TRANSITIONS)
    except ValueError as e:
        raise CliError(str(e)) from None
    out.write(text)
    return 0
