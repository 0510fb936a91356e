"""Ways to put a synack Host on a real link, shared by the blocking stack
(``api.realtime.Stack``) and the asyncio one (``api.streams.Stack``): each subclass is built
from ``(host, link)`` and these constructors make both."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..link.driver import real_host
from ..tcp.config import TcpConfig
from ..trace.events import Recorder


class LinkConstructors:
    """``tun``, ``udp`` and ``pipe`` constructors for a class taking ``(host, link)``."""

    #: the kernel's address on the other side of a TUN device (None elsewhere)
    peer_addr: str | None = None

    def __init__(self, host: Any, link: Any) -> None:
        raise NotImplementedError  # each stack class runs a Host on a link its own way

    @classmethod
    def tun(cls, addr: str, *, name: str = "synack%d", peer_addr: str | None = None,
            netns: str | None = None, mtu: int = 1500, recorder: Recorder | None = None,
            config: TcpConfig | None = None) -> Any:
        """On a new TUN device (needs root): synack owns ``addr`` (ADDRESS/PREFIX); the
        kernel side gets the first host address of the prefix, or ``peer_addr``."""
        from ..link.tun import TunLink

        link, own, peer = TunLink.create(addr, name=name, peer_addr=peer_addr, netns=netns, mtu=mtu)
        st = cls(real_host(own, mtu=mtu, recorder=recorder, config=config), link)
        st.peer_addr = peer
        return st

    @classmethod
    def udp(cls, addr: str, local_port: int, peer: tuple, *, bind: str = "127.0.0.1",
            recorder: Recorder | None = None, config: TcpConfig | None = None) -> Any:
        """IP packets inside UDP datagrams to ``peer`` (host, port): no root needed."""
        from ..link.udp import UdpLink

        link = UdpLink(local_port, peer, bind=bind)
        return cls(real_host(addr.split("/")[0], mtu=link.features.mtu, recorder=recorder,
                             config=config), link)

    @classmethod
    def pipe(cls, addr: str, send: Callable[[bytes], Any], *, mtu: int = 1500,
             recorder: Recorder | None = None, config: TcpConfig | None = None) -> Any:
        """Over an application's packet pipe: ``send(packet)`` transmits; feed received
        packets to ``stack.link.deliver(packet)``."""
        from ..link.pipe import PipeLink

        return cls(real_host(addr, mtu=mtu, recorder=recorder, config=config), PipeLink(send, mtu=mtu))
