"""Profiles and settings: how a script's ``// profile:`` and its sysctl lines become
synack settings.

A profile is one of ``tcp/config.py``'s personalities: ``TcpConfig(profile="linux")`` (Linux
6.x on the wire) or ``TcpConfig(profile="rfc")`` (RFC 9293 and its companions strictly);
``docs/personalities.md`` lists every difference. This module adds the
:class:`~synack.stack.host.Host` arguments a script's host gets (Linux's SYN-cookie,
SYN-backlog and SYN,ACK-retry sysctls) and maps the sysctl lines of a script onto synack's
settings.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from ..tcp.config import PROFILES, TcpConfig, profile_defaults
from ..timeunits import sec

__all__ = ["PROFILES", "Profile", "profile", "SysctlOutcome", "SYSCTLS", "UNMAPPED", "sim_sysctl",
           "CommandItem", "parse_command"]


@dataclass(frozen=True)
class Profile:
    name: str
    #: Host keyword arguments
    host: dict[str, Any] = field(default_factory=dict)
    summary: str = ""

    def tcp_config(self) -> TcpConfig:
        """A fresh TcpConfig of this personality (the host's, which sysctl lines change)."""
        return TcpConfig(profile=self.name)


_HOST = {"syncookies": 1, "max_syn_backlog": 2048, "synack_retries": 5}
_PROFILES = {
    "linux": Profile("linux", _HOST, "Linux 6.x on the wire (TcpConfig(profile='linux'))"),
    "rfc": Profile("rfc", _HOST, "RFC 9293 and its companion RFCs strictly (TcpConfig(profile='rfc'))"),
}


def profile(name: str) -> Profile:
    """The profile called ``name``; ValueError names the known ones."""
    profile_defaults(name)  # (the same check and message as TcpConfig's)
    return _PROFILES[name]


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
