"""Profiles and settings: how a script's ``// profile:`` and its sysctl lines become
synack settings.

Until ``tcp/config.py`` has personalities of its own, this module is the one place that
maps a profile onto the existing :class:`~synack.tcp.config.TcpConfig` knobs and
:class:`~synack.stack.host.Host` arguments that approximate it:

``linux``
    Linux 6.x on the wire, as far as synack's knobs reach: TcpConfig's defaults already
    follow Linux (RTO 1 s initial, 200 ms floor; delayed ACKs of 40 ms; IW10; CUBIC;
    TIME-WAIT 60 s; passive ECN; SACK, timestamps and window scaling offered), and the
    Host's SYN-cookie, SYN-backlog and SYN,ACK-retry settings are Linux's sysctls.
``rfc``
    RFC 9293 and its companions, strictly where synack has a knob: the RFC 6298 1 s
    minimum RTO, a 2-minute MSL (TIME-WAIT 4 min, RFC 9293 §3.4.2), RFC 5681 NewReno with
    the RFC 3390 initial window (3 segments of 1460 octets), delayed ACKs of 200 ms.

What cannot be approximated (quick-ACK mode, the window scale Linux derives from
``tcp_rmem``, TLP without SACK, ...) is a known gap of the corpus
(``tests/drill/known_gaps.toml``), to be closed when the personalities exist.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from ..timeunits import ms, sec

PROFILES = ("linux", "rfc")


@dataclass(frozen=True)
class Profile:
    name: str
    #: TcpConfig fields
    config: dict[str, Any] = field(default_factory=dict)
    #: Host keyword arguments
    host: dict[str, Any] = field(default_factory=dict)
    summary: str = ""


_PROFILES = {
    "linux": Profile("linux", {}, {"syncookies": 1, "max_syn_backlog": 2048, "synack_retries": 5},
                     "Linux 6.x defaults (TcpConfig's own)"),
    "rfc": Profile("rfc", {"min_rto": sec(1), "initial_rto": sec(1), "msl": sec(120), "congestion": "newreno",
                           "initial_window": 3, "delayed_ack": ms(200)},
                   {"syncookies": 1, "max_syn_backlog": 2048, "synack_retries": 5},
                   "RFC 9293 with RFC 6298, RFC 5681/3390, RFC 6582 where synack has a knob"),
}


def profile(name: str) -> Profile:
    """The profile called ``name``; ValueError names the known ones."""
    try:
        return _PROFILES[name]
    except KeyError:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}, not {name!r}") from None


# ----------------------------------------------------------------------------- sysctls
@dataclass(frozen=True)
class SysctlOutcome:
    applied: bool
    reason: str = ""


def _bool(v: str) -> bool:
    return v.strip() not in ("0", "")


def _ecn(v: str) -> str:
    return {"0": "off", "1": "on", "2": "passive"}.get(v.strip(), "passive")


#: net.ipv4.* sysctl -> ("config" | "host", field, converter) for the sim target
SYSCTLS: dict[str, tuple[str, str, Any]] = {
    "net.ipv4.tcp_sack": ("config", "sack", _bool),
    "net.ipv4.tcp_timestamps": ("config", "timestamps", _bool),
    "net.ipv4.tcp_window_scaling": ("config", "window_scale", _bool),
    "net.ipv4.tcp_ecn": ("config", "ecn", _ecn),
    "net.ipv4.tcp_congestion_control": ("config", "congestion", str.strip),
    "net.ipv4.tcp_keepalive_time": ("config", "keepalive_idle", lambda v: sec(int(v))),
    "net.ipv4.tcp_keepalive_intvl": ("config", "keepalive_interval", lambda v: sec(int(v))),
    "net.ipv4.tcp_keepalive_probes": ("config", "keepalive_count", int),
    "net.ipv4.tcp_rto_min_us": ("config", "min_rto", lambda v: int(v) * 1000),
    "net.ipv4.tcp_syncookies": ("host", "syncookies", int),
    "net.ipv4.tcp_max_syn_backlog": ("host", "max_syn_backlog", int),
    "net.ipv4.tcp_synack_retries": ("host", "synack_retries", int),
    "net.ipv4.tcp_challenge_ack_limit": ("host", "challenge_ack_limit", int),
}

#: sysctls with no synack counterpart, and why (reported as skipped)
UNMAPPED = {
    "net.ipv4.tcp_rmem": "synack has one rcv_buf, not Linux's min/default/max with auto-tuning",
    "net.ipv4.tcp_wmem": "synack has one snd_buf, not Linux's min/default/max with auto-tuning",
    "net.ipv4.tcp_fastopen": "synack clients always may use Fast Open; servers turn it on with TCP_FASTOPEN",
    "net.ipv4.tcp_early_retrans": "synack's TLP is switched with RACK (TcpConfig.rack), not separately",
    "net.ipv4.tcp_recovery": "synack's RACK has no separate switch for the loss detection alone",
    "net.ipv4.tcp_dsack": "synack always sends D-SACK with SACK",
    "net.ipv4.tcp_min_tso_segs": "synack has no TSO autosizing",
    "net.ipv4.tcp_no_metrics_save": "synack keeps no per-destination metrics",
    "net.ipv4.tcp_slow_start_after_idle": "synack has no switch for restart after idle",
    "net.ipv4.tcp_syn_retries": "synack's SYN retries are a time budget (TcpConfig.r2_syn)",
    "net.ipv4.tcp_retries2": "synack's R2 is a time (TcpConfig.r2), not a count",
    "net.ipv4.tcp_fin_timeout": "synack has no orphan FIN-WAIT-2 timeout",
    "net.ipv4.tcp_rfc1337": "synack has no RFC 1337 switch",
    "net.ipv4.tcp_mtu_probing": "synack does no packetization-layer PMTU probing",
    "net.ipv4.tcp_autocorking": "synack does no autocorking",
    "net.ipv4.tcp_tw_reuse": "synack has no TIME-WAIT reuse switch",
}


def sim_sysctl(key: str, value: str, config: Any, host: Any) -> SysctlOutcome:
    """Apply a sysctl to the simulated host, where synack has the setting."""
    key = key.replace("/", ".")
    if key in SYSCTLS:
        where, name, conv = SYSCTLS[key]
        try:
            v = conv(value)
        except ValueError:
            return SysctlOutcome(False, f"{value!r} is not a value synack understands for {key}")
        target = config if where == "config" else host
        if where == "host" and name == "challenge_ack_limit":
            from ..tcp.rfc5961 import ChallengeAckLimiter

            host.challenge = ChallengeAckLimiter(v)
            return SysctlOutcome(True)
        setattr(target, name, v)
        return SysctlOutcome(True)
    if key in UNMAPPED:
        return SysctlOutcome(False, UNMAPPED[key])
    return SysctlOutcome(False, "synack has no setting for it")


# ----------------------------------------------------------------------------- commands
@dataclass(frozen=True)
class CommandItem:
    text: str
    sysctl: tuple[str, str] | None = None


_ECHO_PROC = re.compile(r"^echo\s+(?:-n\s+)?\"?([^\">]*?)\"?\s*>\s*/proc/sys/(\S+)$")


def parse_command(text: str) -> list[CommandItem]:
    """Split a backtick command into simple commands and recognise sysctl settings in it:
    ``sysctl [-q] [-w] key=value ...`` and ``echo value > /proc/sys/key``."""
    items: list[CommandItem] = []
    for part in re.split(r"\n|;|&&", text):
        part = part.strip()
        if not part or part.startswith("#"):
            continue
        em = _ECHO_PROC.match(part)
        if em:
            items.append(CommandItem(part, (em.group(2).replace("/", "."), em.group(1).strip())))
            continue
        try:
            words = shlex.split(part)
        except ValueError:
            items.append(CommandItem(part))
            continue
        if words and words[0] == "sysctl":
            pairs = [w for w in words[1:] if not w.startswith("-")]
            if pairs and all("=" in w for w in pairs):
                for w in pairs:
                    k, _, v = w.partition("=")
                    items.append(CommandItem(part, (k.replace("/", "."), v)))
                continue
        items.append(CommandItem(part))
    return items
