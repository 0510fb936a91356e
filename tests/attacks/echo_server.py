"""The attack suite's target: synack's echo application (the one ``synack listen --app
echo`` serves) on a TUN device inside network namespace NETNS, device NAME, at
10.99.0.2/24, **without** the device's offloads: every segment synack sends then crosses the
device at wire size with a full checksum, so what the sniffer and tcpdump see on the device
is exactly what synack put on the wire (with offloads, the kernel would cut GSO
super-segments after the capture point).

Usage: python echo_server.py NETNS NAME. Prints "listening" on stderr when ready; SIGINT or
SIGTERM end it.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from synack.api import streams
from synack.apps import APPS
from synack.link.driver import real_host
from synack.link.tun import TunLink

ADDR = "10.99.0.2/24"
PORT = 7


async def main(netns: str, name: str) -> None:
    link, own, _ = TunLink.create(ADDR, name=name, netns=netns, offload=False)
    stack = streams.Stack(real_host(f"{own}/24"), link)  # (the prefix: its broadcast is no source)
    echo = APPS["echo"]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        server = await streams.start_server(echo, None, PORT, stack=stack)
        print(f"listening on {own}:{PORT} ({link!r})", file=sys.stderr, flush=True)
        await stop.wait()
        server.close()
    finally:
        stack.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
