"""Reading drill scripts: the packetdrill script language, tokenised and parsed into
:mod:`synack.drill.model` values.

The language (as packetdrill's documentation describes it): every event starts with a
time (``0.100``, ``+.1``, ``*``, ``0.1~0.2``, ``+0~+0.05``); then a packet line (``<``
injected by the script, ``>`` expected from the stack), a system call in strace form
(``+0...0.2 read(4, ..., 1000) = 1000``), a ``%{ ... }%`` code block or a backtick
command. ``//`` and ``/* */`` are comments; ``--name=value`` lines at the top set options.
Newlines carry no meaning, as in packetdrill.

Every problem is a :class:`DrillSyntaxError` with the script's path, line and column,
never another exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from . import model as m

#: requirement IDs of RFC 9293 Appendix B as comments cite them
REQUIREMENT_RE = re.compile(r"\b(MUST-\d+|SHLD-\d+|MAY-\d+|REC-1)\b")
_PROFILE_RE = re.compile(r"^\s*profile\s*:\s*([A-Za-z0-9_-]+)\s*$")

_FLAG_LETTERS = set("FSRP.UEWA")
_ECN_WORDS = {"noecn", "ect0", "ect1", "ect01", "ce"}
_OPTION_WORDS = {"mss", "wscale", "sackOK", "sack", "TS", "nop", "eol", "FO", "FOEXP"}


class DrillSyntaxError(ValueError):
    """A script that cannot be read: where (path, line, column) and why."""

    def __init__(self, path: str, line: int, column: int, message: str) -> None:
        super().__init__(f"{path}:{line}:{column}: parse error: {message}")
        self.path = path
        self.line = line
        self.column = column
        self.message = message


# ----------------------------------------------------------------------------- tokens
@dataclass(frozen=True)
class Token:
    kind: str      # INT FLOAT HEX WORD STRING BACKTICK CODE OPTION ELLIPSIS PUNCT EOF
    text: str
    line: int
    col: int
    start: int     # offset in the source
    end: int


_TOKEN_RE = re.compile(r"""
    (?P<ws>[ \t\r\n]+)
  | (?P<cpp>//[^\n]*)
  | (?P<c>/\*.*?\*/)
  | (?P<code>%\{.*?\}%)
  | (?P<backtick>`(?:\\.|[^`\\])*`)
  | (?P<string>"(?:\\.|[^"\\])*")
  | (?P<option>--[A-Za-z0-9_]+(?:=[^\s]*)?)
  | (?P<ellipsis>\.\.\.)
  | (?P<float>-?\d*\.\d+(?![\d.]))
  | (?P<hex>0x[0-9a-fA-F]+(?![A-Za-z0-9_]))
  | (?P<negint>-\d+(?![A-Za-z0-9_.]))
  | (?P<word>[A-Za-z0-9_]+)
  | (?P<punct>[<>.,()\[\]{}=|:+~*\-])
""", re.VERBOSE | re.DOTALL)


def tokenize(text: str, path: str = "<script>") -> tuple[list[Token], list[tuple[int, str]]]:
    """The tokens of ``text`` and its comments (line, text without the markers)."""
    tokens: list[Token] = []
    comments: list[tuple[int, str]] = []
    pos = 0
    line = 1
    line_start = 0
    n = len(text)
    while pos < n:
        mt = _TOKEN_RE.match(text, pos)
        if mt is None:
            col = pos - line_start + 1
            ch = text[pos]
            if text.startswith("/*", pos):
                raise DrillSyntaxError(path, line, col, "comment /* is never closed")
            if text.startswith("%{", pos):
                raise DrillSyntaxError(path, line, col, "code block %{ is never closed with }%")
            if ch == "`":
                raise DrillSyntaxError(path, line, col, "backtick command is never closed")
            if ch == '"':
                raise DrillSyntaxError(path, line, col, "string is never closed")
            raise DrillSyntaxError(path, line, col, f"unexpected character {ch!r}")
        kind = mt.lastgroup or ""
        s = mt.group()
        col = pos - line_start + 1
        if kind == "cpp":
            comments.append((line, s[2:]))
        elif kind == "c":
            for i, part in enumerate(s[2:-2].split("\n")):
                comments.append((line + i, part.lstrip(" *")))
        elif kind != "ws":
            k = {"code": "CODE", "backtick": "BACKTICK", "string": "STRING", "option": "OPTION",
                 "ellipsis": "ELLIPSIS", "float": "FLOAT", "hex": "HEX", "negint": "INT",
                 "punct": "PUNCT"}.get(kind, "WORD")
            if k == "WORD" and s.isdigit():
                k = "INT"
            tokens.append(Token(k, s, line, col, pos, mt.end()))
        nl = s.count("\n")
        if nl:
            line += nl
            line_start = pos + s.rindex("\n") + 1
        pos = mt.end()
    tokens.append(Token("EOF", "", line, pos - line_start + 1, n, n))
    return tokens, comments


# ----------------------------------------------------------------------------- parser
class _Parser:
    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path
        self.toks, self.comments = tokenize(text, path)
        self.i = 0
        self.lines = text.split("\n")

    # -- helpers
    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def peek(self, k: int = 1) -> Token:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def error(self, message: str, tok: Token | None = None) -> DrillSyntaxError:
        t = tok or self.tok
        return DrillSyntaxError(self.path, t.line, t.col, message)

    def _shown(self, t: Token) -> str:
        return "the end of the script" if t.kind == "EOF" else repr(t.text)

    def next(self) -> Token:
        t = self.toks[self.i]
        if t.kind != "EOF":
            self.i += 1
        return t

    def is_punct(self, ch: str, k: int = 0) -> bool:
        t = self.peek(k) if k else self.tok
        return t.kind == "PUNCT" and t.text == ch

    def is_word(self, w: str) -> bool:
        return self.tok.kind == "WORD" and self.tok.text == w

    def expect_punct(self, ch: str, what: str) -> Token:
        if not self.is_punct(ch):
            raise self.error(f"expected {ch!r} {what}, found {self._shown(self.tok)}")
        return self.next()

    def expect_word(self, w: str, what: str) -> Token:
        if not self.is_word(w):
            raise self.error(f"expected {w!r} {what}, found {self._shown(self.tok)}")
        return self.next()

    def integer(self, what: str, lo: int = 0, hi: int = 0xFFFFFFFF) -> int:
        t = self.tok
        if t.kind not in ("INT", "HEX"):
            raise self.error(f"expected {what} (a number), found {self._shown(t)}")
        self.next()
        v = int(t.text, 16) if t.kind == "HEX" else int(t.text)
        if not lo <= v <= hi:
            raise self.error(f"{what} {v} is out of range ({lo}..{hi})", t)
        return v

    def time_value(self, what: str) -> int:
        t = self.tok
        if t.kind not in ("INT", "FLOAT"):
            raise self.error(f"expected {what} (seconds, such as 0.100), found {self._shown(t)}")
        self.next()
        try:
            v = int(Decimal(t.text) * 1_000_000)
        except InvalidOperation:
            raise self.error(f"{what} {t.text!r} is not a number", t) from None
        if v < 0:
            raise self.error(f"{what} must not be negative", t)
        return v

    # -- the script
    def script(self) -> m.Script:
        sc = m.Script(self.path)
        self._header(sc)
        while self.tok.kind == "OPTION":
            t = self.next()
            name, _, value = t.text[2:].partition("=")
            sc.options[name] = value
        while self.tok.kind == "BACKTICK" and not sc.events:
            t = self.next()
            sc.init_commands.append(m.Event(m.TimeSpec(m.ABSOLUTE, 0), m.Command(t.text[1:-1]), t.line, t.col,
                                            self._source(t.line)))
        while self.tok.kind != "EOF":
            if self.tok.kind == "BACKTICK":
                t = self.next()
                ev = m.Event(m.TimeSpec(m.RELATIVE, 0), m.Command(t.text[1:-1]), t.line, t.col, self._source(t.line))
                (sc.cleanup_commands if self.tok.kind == "EOF" else sc.events).append(ev)
                continue
            if self.tok.kind == "OPTION":
                raise self.error("options (--name=value) must come before the first event")
            sc.events.append(self.event())
        self._check(sc)
        return sc

    def _source(self, line: int) -> str:
        return self.lines[line - 1].strip() if 0 < line <= len(self.lines) else ""

    def _header(self, sc: m.Script) -> None:
        ids: list[str] = []
        summary: list[str] = []
        first_tok_line = self.toks[0].line if self.toks else 1
        in_first_block = True
        for line, text in self.comments:
            for rid in REQUIREMENT_RE.findall(text):
                if rid not in ids:
                    ids.append(rid)
            pm = _PROFILE_RE.match(text)
            if pm:
                if sc.profile is None:
                    sc.profile = pm.group(1)
                continue
            if in_first_block and line < first_tok_line:
                s = text.strip()
                if s and not s.startswith("--") and not REQUIREMENT_RE.search(s):
                    summary.append(s)
                elif not s and summary:
                    in_first_block = False
        sc.requirements = tuple(ids)
        sc.summary = " ".join(summary)

    def _check(self, sc: m.Script) -> None:
        if sc.events:
            first = sc.events[0]
            if first.time.kind == m.ABSOLUTE and first.time.start != 0:
                raise DrillSyntaxError(self.path, first.line, first.column, "the first event must be at time 0")

    # -- events
    def event(self) -> m.Event:
        start = self.tok
        ts = self.time_spec()
        line, col = start.line, start.col
        t = self.tok
        if t.kind == "CODE":
            self.next()
            action: m.Action = m.Code(t.text[2:-2])
        elif t.kind == "BACKTICK":
            self.next()
            action = m.Command(t.text[1:-1])
        elif self.is_punct("<") or self.is_punct(">"):
            action = self.packet()
        elif t.kind == "WORD" or t.kind == "ELLIPSIS":
            action = self.syscall()
        else:
            raise self.error(f"expected a packet (< or >), a system call, %{{ code }}% or a `command` "
                             f"after the time, found {self._shown(t)}")
        ev = m.Event(ts, action, line, col, self._source(line))
        self._check_event(ev, start)
        return ev

    def _check_event(self, ev: m.Event, start: Token) -> None:
        a = ev.action
        outbound = isinstance(a, (m.TcpPacket, m.IcmpPacket)) and a.direction == ">"
        if ev.time.kind == m.ANY and not outbound:
            raise self.error("event time * can only be used with outbound (>) packets", start)
        if ev.time.kind in (m.ABSOLUTE_RANGE, m.RELATIVE_RANGE):
            if not outbound:
                raise self.error("a time range (a~b) can only be used with outbound (>) packets", start)
            if ev.time.end is not None and ev.time.end < ev.time.start:
                raise self.error("the time range is backwards", start)

    def time_spec(self) -> m.TimeSpec:
        if self.is_punct("*"):
            self.next()
            return m.TimeSpec(m.ANY)
        if self.is_punct("+"):
            self.next()
            t0 = self.time_value("relative time")
            if self.is_punct("~"):
                self.next()
                self.expect_punct("+", "after '~' in a relative time range (+a~+b)")
                t1 = self.time_value("end of the time range")
                return m.TimeSpec(m.RELATIVE_RANGE, t0, t1)
            return m.TimeSpec(m.RELATIVE, t0)
        if self.tok.kind in ("INT", "FLOAT"):
            t0 = self.time_value("time")
            if self.is_punct("~"):
                self.next()
                t1 = self.time_value("end of the time range")
                return m.TimeSpec(m.ABSOLUTE_RANGE, t0, t1)
            return m.TimeSpec(m.ABSOLUTE, t0)
        raise self.error(f"expected an event time (0.100, +0.1, * or 0.1~0.2), found {self._shown(self.tok)}")

    # -- packets
    def packet(self) -> m.Packet:
        dir_tok = self.next()
        direction = dir_tok.text
        ecn, tos, ttl = self.ip_info()
        if self.is_word("icmp"):
            return self.icmp(direction, ecn)
        if self.is_word("udp"):
            raise self.error("UDP packets are not supported: synack drill tests TCP")
        src_port = dst_port = None
        if self.tok.kind == "INT" and self.is_punct(">", 1) and self.peek(2).kind == "INT":
            src_port = self.integer("source port", 0, 0xFFFF)
            self.next()
            dst_port = self.integer("destination port", 0, 0xFFFF)
        flags = self.flags()
        seq_t = self.tok
        seq = self.integer("start sequence number")
        self.expect_punct(":", "in the sequence range start:end(length)")
        end = self.integer("end sequence number")
        self.expect_punct("(", "before the payload length in start:end(length)")
        length = self.integer("payload length", 0, 0xFFFF)
        self.expect_punct(")", "after the payload length")
        if end != seq + length:
            raise self.error(f"inconsistent sequence numbers: {seq}:{end} is not {length} octets long", seq_t)
        ack = win = None
        urg = 0
        if self.is_word("ack"):
            self.next()
            ack = self.integer("ack number")
        if self.is_word("win"):
            self.next()
            win = self.integer("window", 0, 0xFFFF)
        if self.is_word("urg"):
            self.next()
            urg = self.integer("urgent pointer", 0, 0xFFFF)
        options: tuple[m.OptionSpec, ...] | None = ()
        if self.is_punct("<"):
            opt_t = self.next()
            if self.tok.kind == "ELLIPSIS":
                self.next()
                options = None
                if direction == "<":
                    raise self.error("<...> (options not checked) can only be used with outbound (>) packets", opt_t)
            else:
                options = self.tcp_options()
            self.expect_punct(">", "to close the option list")
        if direction == "<" and win is None:
            raise self.error("an inbound (<) packet needs a window (win N)", dir_tok)
        if ack is not None and "." not in flags:
            raise self.error("'ack N' needs the ACK flag ('.') in the flags", dir_tok)
        return m.TcpPacket(direction, flags, seq, length, ack, win, urg, options, ecn, tos, ttl, src_port, dst_port)

    def ip_info(self) -> tuple[str | None, int | None, int | None]:
        if not (self.is_punct("[") or self.is_punct("(")):
            return None, None, None
        # "(" starts IP info only when a known IP word follows it
        nxt = self.peek()
        if nxt.kind != "WORD" or nxt.text not in _ECN_WORDS | {"tos", "ttl", "flowlabel"}:
            return None, None, None
        close = "]" if self.next().text == "[" else ")"
        ecn = None
        tos = None
        ttl = None
        while True:
            t = self.tok
            if t.kind == "WORD" and t.text in _ECN_WORDS:
                ecn = self.next().text
            elif self.is_word("tos"):
                self.next()
                tos = self.integer("tos octet", 0, 255)
            elif self.is_word("ttl"):
                self.next()
                ttl = self.integer("ttl", 0, 255)
            elif self.is_word("flowlabel"):
                self.next()
                self.integer("flow label", 0, 0xFFFFF)
            else:
                raise self.error(f"expected noecn, ect0, ect1, ect01, ce or tos in IP info, found {self._shown(t)}")
            if self.is_punct(","):
                self.next()
                continue
            self.expect_punct(close, "to close the IP info")
            return ecn, tos, ttl

    def flags(self) -> str:
        t = self.tok
        if self.is_punct("-"):
            self.next()
            return ""
        if self.is_punct("."):
            self.next()
            return "."
        if t.kind == "WORD":
            bad = set(t.text) - _FLAG_LETTERS
            if bad:
                raise self.error(f"unknown TCP flag letter {sorted(bad)[0]!r} in {t.text!r} "
                                 f"(flags are F S R P . U E W)")
            self.next()
            text = t.text
            if self.is_punct(".") and self.tok.start == t.end:
                self.next()
                text += "."
            return text
        raise self.error(f"expected TCP flags (S, S., ., P., F., R, R., -), found {self._shown(t)}")

    def tcp_options(self) -> tuple[m.OptionSpec, ...]:
        opts = []
        while True:
            t = self.tok
            if t.kind != "WORD" or t.text not in _OPTION_WORDS:
                raise self.error(f"expected a TCP option (mss, wscale, sackOK, sack, TS, nop, eol, FO), "
                                 f"found {self._shown(t)}")
            self.next()
            w = t.text
            if w in ("nop", "eol", "sackOK"):
                opts.append(m.OptionSpec(w))
            elif w == "mss":
                opts.append(m.OptionSpec(w, self.integer("mss value", 0, 0xFFFF)))
            elif w == "wscale":
                opts.append(m.OptionSpec(w, self.integer("window scale shift", 0, 255)))
            elif w == "sack":
                blocks = []
                while self.tok.kind == "INT":
                    a = self.integer("SACK block start")
                    self.expect_punct(":", "in a SACK block a:b")
                    b = self.integer("SACK block end")
                    blocks.append((a, b))
                if not blocks:
                    raise self.error("sack needs at least one block a:b")
                opts.append(m.OptionSpec(w, blocks=tuple(blocks)))
            elif w == "TS":
                self.expect_word("val", "after TS")
                val = self.integer("TS val")
                self.expect_word("ecr", "after the TS val")
                ecr = self.integer("TS ecr")
                opts.append(m.OptionSpec(w, val=val, ecr=ecr))
            else:  # FO / FOEXP with an optional hex cookie
                cookie = b""
                if self.tok.kind in ("WORD", "INT", "HEX") and not self._option_word(self.tok):
                    c = self.next()
                    hexs = c.text[2:] if c.kind == "HEX" else c.text
                    if len(hexs) % 2:
                        raise self.error("a Fast Open cookie needs an even number of hex digits", c)
                    try:
                        cookie = bytes.fromhex(hexs)
                    except ValueError:
                        raise self.error(f"Fast Open cookie {c.text!r} is not hex", c) from None
                    if len(cookie) > 16:
                        raise self.error("a Fast Open cookie is at most 16 octets", c)
                opts.append(m.OptionSpec(w, cookie=cookie))
            if self.is_punct(","):
                self.next()
                continue
            return tuple(opts)

    @staticmethod
    def _option_word(t: Token) -> bool:
        return t.kind == "WORD" and t.text in _OPTION_WORDS

    def icmp(self, direction: str, ecn: str | None) -> m.IcmpPacket:
        self.next()  # icmp
        if self.tok.kind != "WORD":
            raise self.error(f"expected an ICMP type (unreachable, packet_too_big, ...), found {self._shown(self.tok)}")
        type_name = self.next().text
        code_name = None
        if self.tok.kind == "WORD" and self.tok.text not in ("mtu", "id"):
            code_name = self.next().text
        mtu = None
        if self.is_word("mtu"):
            self.next()
            mtu = self.integer("mtu")
        if self.is_word("id"):
            self.next()
            self.integer("echo id", 0, 0xFFFF)
        echoed = None
        if self.is_punct("["):
            self.next()
            if self.is_word("udp") or self.is_word("raw"):
                raise self.error("ICMP quoting UDP or raw packets is not supported: synack drill tests TCP")
            seq = self.integer("quoted sequence number")
            self.expect_punct(":", "in the quoted start:end(length)")
            end = self.integer("quoted end sequence number")
            self.expect_punct("(", "in the quoted start:end(length)")
            length = self.integer("quoted length", 0, 0xFFFF)
            self.expect_punct(")", "after the quoted length")
            self.expect_punct("]", "to close the quoted segment")
            if end != seq + length:
                raise self.error(f"inconsistent quoted sequence numbers: {seq}:{end} is not {length} octets long")
            echoed = (seq, length)
        return m.IcmpPacket(direction, type_name, code_name, mtu, echoed, ecn)

    # -- system calls
    def syscall(self) -> m.Syscall:
        end = None
        if self.tok.kind == "ELLIPSIS":
            self.next()
            end = self.time_value("end time of the blocking call")
        t = self.tok
        if t.kind != "WORD":
            raise self.error(f"expected a system call name, found {self._shown(t)}")
        name = self.next().text
        self.expect_punct("(", f"after {name}")
        args: list[m.Expr] = []
        if not self.is_punct(")"):
            while True:
                args.append(self.expr())
                if self.is_punct(","):
                    self.next()
                    continue
                break
        self.expect_punct(")", f"to close the arguments of {name}()")
        self.expect_punct("=", f"and the expected result after {name}(...)")
        result = self.expr()
        errno_name = None
        note = None
        if self.tok.kind == "WORD" and self.tok.text.startswith("E") and self.tok.text.isupper():
            errno_name = self.next().text
        if self.is_punct("("):
            note = self.note()
        return m.Syscall(name, tuple(args), result, errno_name, note, end)

    def note(self) -> str:
        open_t = self.next()
        depth = 1
        while True:
            t = self.tok
            if t.kind == "EOF":
                raise self.error("the note in parentheses is never closed", open_t)
            self.next()
            if t.kind == "PUNCT" and t.text == "(":
                depth += 1
            elif t.kind == "PUNCT" and t.text == ")":
                depth -= 1
                if depth == 0:
                    return self.text[open_t.end:t.start].strip()

    def expr(self) -> m.Expr:
        lhs = self.primary()
        while self.is_punct("|"):
            self.next()
            lhs = m.Binary("|", lhs, self.primary())
        return lhs

    def primary(self) -> m.Expr:
        t = self.tok
        if t.kind == "ELLIPSIS":
            self.next()
            return m.Ellipsis_()
        if t.kind in ("INT", "HEX"):
            self.next()
            return m.Int(int(t.text, 16) if t.kind == "HEX" else int(t.text), t.text)
        if t.kind == "STRING":
            s = ""
            while self.tok.kind == "STRING":
                s += _unquote(self.next().text)
            more = False
            if self.tok.kind == "ELLIPSIS":
                self.next()
                more = True
            return m.String(s, more)
        if t.kind == "WORD":
            self.next()
            if self.is_punct("("):
                self.next()
                args = []
                if not self.is_punct(")"):
                    while True:
                        args.append(self.expr())
                        if not self.is_punct(","):
                            break
                        self.next()
                self.expect_punct(")", f"to close {t.text}(...)")
                return m.Call(t.text, tuple(args))
            return m.Word(t.text)
        if self.is_punct("["):
            self.next()
            items = []
            if not self.is_punct("]"):
                while True:
                    items.append(self.expr())
                    if not self.is_punct(","):
                        break
                    self.next()
            self.expect_punct("]", "to close the array")
            return m.Array(tuple(items))
        if self.is_punct("{"):
            self.next()
            fields: list[tuple[str | None, m.Expr]] = []
            if not self.is_punct("}"):
                while True:
                    if self.tok.kind == "WORD" and self.is_punct("=", 1):
                        name = self.next().text
                        self.next()
                        fields.append((name, self.expr()))
                    else:
                        value = self.expr()
                        if self.is_punct("=") and isinstance(value, m.Call):
                            # msghdr fields such as msg_iov(1)=[...]: named by the call
                            self.next()
                            fields.append((value.name, self.expr()))
                        else:
                            fields.append((None, value))
                    if not self.is_punct(","):
                        break
                    self.next()
            self.expect_punct("}", "to close the structure")
            return m.Struct(tuple(fields))
        raise self.error(f"expected an argument (a number, a name, ..., [..] or {{..}}), found {self._shown(t)}")


def _unquote(s: str) -> str:
    body = s[1:-1]
    return re.sub(r"\\(.)", lambda mt: {"n": "\n", "t": "\t", "0": "\0"}.get(mt.group(1), mt.group(1)), body)


def parse_text(text: str, path: str = "<script>") -> m.Script:
    """Parse a script from its text; DrillSyntaxError (with line and column) if it is bad."""
    return _Parser(text, path).script()


def parse_file(path: str) -> m.Script:
    """Parse the script at ``path``. OSError if it cannot be read, DrillSyntaxError if bad."""
    with open(path, encoding="utf-8", errors="replace") as f:
        return parse_text(f.read(), path)
