"""What a system call is while it runs: its generator, its outcome, the sockets it works
on. Shared by the runner, the system calls and the targets."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from . import model as m

#: Generator a system call runs as: yields the time (µs) it wants to be woken at, or None,
#: while it would block; returns its Outcome.
CallGen = Generator[int | None, None, "Outcome"]
#: poll(2) on a target: the revents of each descriptor
PollGen = Generator[int | None, None, list[int]]


@dataclass
class Outcome:
    """A system call's result: its return value, errno, and a mismatch found in what it
    returned through its arguments (getsockopt values, poll revents)."""

    retval: int
    errno: int | None = None
    mismatch: str | None = None
    new_socket: Any = None


class DrillSocket:
    """A socket the script opened, and what the script knows about it."""

    def __init__(self, obj: Any, family: int, nonblocking: bool = False) -> None:
        self.obj = obj
        self.family = family
        self.nonblocking = nonblocking
        self.listening = False
        self.connecting = False
        self.port = 0


class PendingCall:
    """A system call that has started and not yet returned."""

    def __init__(self, event: m.Event, call: m.Syscall, gen: CallGen, started: int, end: int | None) -> None:
        self.event = event
        self.call = call
        self.gen = gen
        self.started = started
        self.end = end                 # when it must return (µs), None: at once
        self.wake: int | None = None
        self.outcome: Outcome | None = None
        self.finished: int | None = None
        self.error: BaseException | None = None


class _ScriptError(Exception):
    """The script asks for something the interpreter cannot do (a bad argument, an
    unknown system call): the script is at fault, not the stack."""


ScriptError = _ScriptError
