"""Bytes <-> frozen values: sequence numbers, checksums, IPv4/IPv6 headers, TCP segments.

No state, no time, no I/O. Malformed input raises :class:`MalformedPacket` and nothing else.
"""

from .checksum import internet_checksum, pack_address, pseudo_header_sum
from .errors import MalformedPacket
from .ip import IpHeader, emit_ip, emit_packet, parse_ip, parse_packet
from .ipv4 import IPv4Header, emit_ipv4, parse_ipv4
from .ipv6 import IPv6Header, emit_ipv6, parse_ipv6
from .seq import Seq, seq
from .tcp import (
    ACK, CWR, ECE, FIN, NS, PSH, RST, SYN, URG,
    Eol, FastOpen, Flags, Mss, Nop, Sack, SackPermitted, TcpOption, TcpSegment, Timestamps,
    UnknownOption, WindowScale, emit_tcp, parse_tcp, seg_summary,
)

__all__ = [
    "internet_checksum", "pack_address", "pseudo_header_sum",
    "MalformedPacket",
    "IpHeader", "emit_ip", "emit_packet", "parse_ip", "parse_packet",
    "IPv4Header", "emit_ipv4", "parse_ipv4",
    "IPv6Header", "emit_ipv6", "parse_ipv6",
    "Seq", "seq",
    "ACK", "CWR", "ECE", "FIN", "NS", "PSH", "RST", "SYN", "URG",
    "Eol", "FastOpen", "Flags", "Mss", "Nop", "Sack", "SackPermitted", "TcpOption", "TcpSegment",
    "Timestamps", "UnknownOption", "WindowScale", "emit_tcp", "parse_tcp", "seg_summary",
]
