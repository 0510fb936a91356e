"""The one error type the wire layer raises for malformed input."""

from __future__ import annotations


class MalformedPacket(ValueError):
    """A packet or segment could not be parsed. ``reason`` names what was wrong.

    ``reason`` is a short stable token (``"truncated-header"``, ``"bad-data-offset"``,
    ``"bad-option-length"``, ``"bad-checksum"``, ``"syn-and-fin"``, ...) and ``detail`` a
    sentence for people. Trace drop events carry the token.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)
