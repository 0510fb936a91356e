"""Linux's ``struct tcp_info`` (``getsockopt(IPPROTO_TCP, TCP_INFO)``) as the ``tcpi_*``
names a ``%{ }%`` block reads, decoded from the bytes whatever their length (older
kernels return less; fields past the end are absent)."""

from __future__ import annotations

import struct
from typing import Any

from .symbols import TCP_INFO_CONSTANTS

#: (name, struct format) in the order of <linux/tcp.h>; the first eight octets are u8s
_FIELDS = (
    [("tcpi_state", "B"), ("tcpi_ca_state", "B"), ("tcpi_retransmits", "B"), ("tcpi_probes", "B"),
     ("tcpi_backoff", "B"), ("tcpi_options", "B"), ("_wscale", "B"), ("_flags", "B")]
    + [(f"tcpi_{n}", "I") for n in (
        "rto", "ato", "snd_mss", "rcv_mss", "unacked", "sacked", "lost", "retrans", "fackets",
        "last_data_sent", "last_ack_sent", "last_data_recv", "last_ack_recv", "pmtu", "rcv_ssthresh",
        "rtt", "rttvar", "snd_ssthresh", "snd_cwnd", "advmss", "reordering", "rcv_rtt", "rcv_space",
        "total_retrans")]
    + [(f"tcpi_{n}", "Q") for n in ("pacing_rate", "max_pacing_rate", "bytes_acked", "bytes_received")]
    + [(f"tcpi_{n}", "I") for n in ("segs_out", "segs_in", "notsent_bytes", "min_rtt", "data_segs_in",
                                    "data_segs_out")]
    + [(f"tcpi_{n}", "Q") for n in ("delivery_rate", "busy_time", "rwnd_limited", "sndbuf_limited")]
    + [("tcpi_delivered", "I"), ("tcpi_delivered_ce", "I"), ("tcpi_bytes_sent", "Q"),
       ("tcpi_bytes_retrans", "Q"), ("tcpi_dsack_dups", "I"), ("tcpi_reord_seen", "I"),
       ("tcpi_rcv_ooopack", "I"), ("tcpi_snd_wnd", "I"), ("tcpi_rcv_wnd", "I"), ("tcpi_rehash", "I"),
       ("tcpi_total_rto", "H"), ("tcpi_total_rto_recoveries", "H"), ("tcpi_total_rto_time", "I")]
)


def decode(raw: bytes) -> dict[str, int]:
    """The fields ``raw`` holds, by their ``tcpi_`` names."""
    out: dict[str, int] = {}
    off = 0
    for name, fmt in _FIELDS:
        size = struct.calcsize(fmt)
        if fmt == "Q":
            off = (off + 7) & ~7  # natural alignment of the u64 fields
        if off + size > len(raw):
            break
        (v,) = struct.unpack_from("=" + fmt, raw, off)
        off += size
        if name == "_wscale":
            out["tcpi_snd_wscale"] = v & 0xF
            out["tcpi_rcv_wscale"] = v >> 4
        elif name == "_flags":
            out["tcpi_delivery_rate_app_limited"] = v & 1
            out["tcpi_fastopen_client_fail"] = (v >> 1) & 3
        else:
            out[name] = v
    return out


def namespace(raw: bytes) -> dict[str, Any]:
    """What a ``%{ }%`` block sees: the decoded fields and the TCPI_OPT_* / TCP_CA_* names."""
    ns: dict[str, Any] = dict(TCP_INFO_CONSTANTS)
    ns.update(decode(raw))
    return ns
