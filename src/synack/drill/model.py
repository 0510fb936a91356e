"""The parsed form of a drill script: values only, no behaviour.

A script is a list of :class:`Event` s, each with a :class:`TimeSpec` and an action: a
packet the scripted peer injects (``<``) or expects (``>``), a system call on the stack
under test, a ``%{ ... }%`` code block or a backtick command. Times are integer
microseconds, as the script language counts them; sequence numbers are the script's own
(relative) numbers, mapped to live ones only when the script runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# ----------------------------------------------------------------------------- times
ABSOLUTE = "absolute"          # 0.100
RELATIVE = "relative"          # +0.1
ANY = "any"                    # *
ABSOLUTE_RANGE = "absolute-range"   # 0.1~0.2
RELATIVE_RANGE = "relative-range"   # +0.1~+0.2


@dataclass(frozen=True)
class TimeSpec:
    """When an event happens: ``kind`` is one of the five forms above; ``start`` and
    ``end`` (ranges only) in microseconds."""

    kind: str
    start: int = 0
    end: int | None = None

    @property
    def relative(self) -> bool:
        return self.kind in (RELATIVE, RELATIVE_RANGE)


# ----------------------------------------------------------------------------- packets
@dataclass(frozen=True)
class OptionSpec:
    """One TCP option as the script writes it.

    ``kind`` is the script's word: ``mss``, ``wscale``, ``sackOK``, ``sack``, ``TS``,
    ``nop``, ``eol``, ``FO`` (RFC 7413, kind 34), ``FOEXP`` (the experimental kind 254
    form); ``value`` its number (mss, wscale), ``blocks`` the SACK blocks in script
    sequence space, ``val``/``ecr`` the timestamps, ``cookie`` the Fast Open cookie.
    """

    kind: str
    value: int = 0
    blocks: tuple[tuple[int, int], ...] = ()
    val: int = 0
    ecr: int = 0
    cookie: bytes = b""


@dataclass(frozen=True)
class TcpPacket:
    """A TCP segment line: ``< S. 0:0(0) ack 1 win 65535 <mss 1460>``.

    ``options`` is None for ``<...>`` (outbound only: options are not checked); ``win``
    is None when the line has none (outbound only: the window is not checked). ``ecn``
    is the IP ECN codepoint the line names (``noecn``, ``ect0``, ``ect1``, ``ect01``,
    ``ce``) or None when it names none; ``tos`` a whole TOS/Traffic Class octet.
    """

    direction: str              # "<" inbound (the script sends), ">" outbound (the stack sends)
    flags: str                  # the letters as written: "S.", "P.", ".", "R", "" for "-"
    seq: int
    length: int
    ack: int | None = None
    win: int | None = None
    urg: int = 0
    options: tuple[OptionSpec, ...] | None = ()
    ecn: str | None = None
    tos: int | None = None
    ttl: int | None = None      # IPv4 TTL / IPv6 hop limit, checked on outbound lines
    src_port: int | None = None
    dst_port: int | None = None


@dataclass(frozen=True)
class IcmpPacket:
    """An ICMP line: ``< icmp unreachable frag_needed mtu 1000 [1:1461(1460)]``.

    ``echoed`` is the quoted TCP segment (script sequence number and length) or None.
    """

    direction: str
    type_name: str
    code_name: str | None = None
    mtu: int | None = None
    echoed: tuple[int, int] | None = None
    ecn: str | None = None


Packet = TcpPacket | IcmpPacket


# ----------------------------------------------------------------------------- expressions
@dataclass(frozen=True)
class Ellipsis_:
    """``...``: the default the interpreter fills in."""


@dataclass(frozen=True)
class Int:
    value: int
    text: str = ""


@dataclass(frozen=True)
class Word:
    """A symbol such as ``SOCK_STREAM`` or ``EINPROGRESS``."""

    name: str


@dataclass(frozen=True)
class String:
    value: str
    more: bool = False  # "abc"...: the string followed by an ellipsis


@dataclass(frozen=True)
class Array:
    """``[1]``, ``[1000]``, ``[{fd=3, events=POLLIN}]``."""

    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Struct:
    """``{l_onoff=1, l_linger=0}``, ``{fd=4, events=POLLIN, revents=POLLIN}``,
    ``{sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("192.0.2.1")}``,
    ``{..., 1000}`` (an iovec). Fields are (name or None, value)."""

    fields: tuple[tuple[str | None, Expr], ...]

    def get(self, *names: str) -> Expr | None:
        for n, v in self.fields:
            if n in names:
                return v
        return None


@dataclass(frozen=True)
class Binary:
    """``O_RDWR|O_NONBLOCK``."""

    op: str
    lhs: Expr
    rhs: Expr


@dataclass(frozen=True)
class Call:
    """``htons(8080)``, ``inet_addr("192.0.2.1")``."""

    name: str
    args: tuple[Expr, ...]


Expr = Ellipsis_ | Int | Word | String | Array | Struct | Binary | Call


@dataclass(frozen=True)
class Syscall:
    """``+0...0.2 read(4, ..., 1000) = 1000`` or ``connect(...) = -1 ECONNREFUSED (...)``.

    ``end`` is the end of a blocking call's time range (``...0.2``), microseconds in the
    same time base as the event's start (absolute, or relative to the same anchor), or
    None for a call that must not block."""

    name: str
    args: tuple[Expr, ...]
    result: Expr
    errno: str | None = None
    note: str | None = None
    end: int | None = None


@dataclass(frozen=True)
class Code:
    """``%{ assert tcpi_snd_cwnd == 10 }%``: Python run against ``tcpi_*`` values."""

    text: str


@dataclass(frozen=True)
class Command:
    """A backtick command: `` `sysctl -q net.ipv4.tcp_sack=0` ``."""

    text: str


Action = TcpPacket | IcmpPacket | Syscall | Code | Command


@dataclass(frozen=True)
class Event:
    """One line of a script: when, what, and where it came from."""

    time: TimeSpec
    action: Action
    line: int
    column: int = 1
    source: str = ""   # the line as written, for messages


@dataclass
class Script:
    """A whole script: its header options, profile, commands and events."""

    path: str
    events: list[Event] = field(default_factory=list)
    #: ``--name=value`` lines at the top (packetdrill's command-line options)
    options: dict[str, str] = field(default_factory=dict)
    #: ``// profile: linux`` or ``// profile: rfc`` in the header comment, if any
    profile: str | None = None
    #: the requirement IDs its comments name (``MUST-10``, ``SHLD-4``, ...)
    requirements: tuple[str, ...] = ()
    #: the first comment block, as a one-line summary
    summary: str = ""
    #: backtick commands before the first event / after the last one
    init_commands: list[Event] = field(default_factory=list)
    cleanup_commands: list[Event] = field(default_factory=list)
