"""What every call of the socket facade shares: argument checks worded as CPython words
them, and the trace of each call as an :class:`~synack.trace.events.AppCall`."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from math import isnan
from typing import Any, TypeVar, cast

from .runtime import NO_LOCK

F = TypeVar("F", bound=Callable[..., Any])


def close_for_good(conn: Any, now: int) -> None:
    """close(): the core's CLOSE for a user who will not read again (RFC 9293 §3.6.1)."""
    conn.close(now, keep_receiving=False)


def summary(x: Any) -> str:
    if isinstance(x, (bytes, bytearray, memoryview)):
        return str(memoryview(x).nbytes)
    return repr(x)


def events_so_far(tracer: Any) -> int | None:
    """How many events ``tracer``'s recorder holds now (None if it cannot say)."""
    try:
        return len(tracer.recorder.events)
    except TypeError:
        return None


def caused(tracer: Any, since: int | None) -> int | None:
    """The events of ``tracer``'s host recorded since the recorder held ``since`` events:
    what a call did after it began or after its wait ended (see ``AppCall.caused``)."""
    events = tracer.recorder.events
    if since is None:
        return None
    try:
        if len(events) < since:
            return None  # (the recorder was emptied meanwhile)
        host = tracer.host
        return sum(1 for ev in events[since:] if getattr(ev, "host", None) == host)
    except TypeError:
        return None


def traced(method: F) -> F:
    """Record the call as an AppCall event: name, argument summary, result, error class."""
    name = method.__name__

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        # On a real-time stack (synack.api.realtime) the driver's thread touches the same
        # Host: hold its lock; waiting for the network (Condition.wait) releases it.
        lock = self._rt.lock
        if lock is NO_LOCK:  # the simulator: single-threaded
            return call(self, *args, **kwargs)
        with lock:
            return call(self, *args, **kwargs)

    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        tracer = self._host.tracer
        if not tracer.on:
            return method(self, *args, **kwargs)
        self._resumed = events_so_far(tracer)
        try:
            result = method(self, *args, **kwargs)
        except BaseException as e:
            self._trace(name, args, kwargs, None, type(e).__name__, self._cid(), caused(tracer, self._resumed))
            raise
        cid = self._cid()
        shown = result
        if name == "accept":
            cid = result[0]._cid()
            shown = result[1]
        elif isinstance(result, (bytes, bytearray)):
            shown = len(result)
        self._trace(name, args, kwargs, shown, None, cid, caused(tracer, self._resumed))
        return result

    return cast(F, wrapper)


def buffer(data: Any) -> memoryview:
    try:
        return memoryview(data).cast("B")
    except TypeError:
        raise TypeError(f"a bytes-like object is required, not '{type(data).__name__}'") from None


def timeout_value(value: Any) -> float | None:
    """CPython's ``socket_parse_timeout``."""
    if value is None:
        return None
    if isinstance(value, float):
        if isnan(value):
            raise ValueError("Invalid value NaN (not a number)")
        t = value
    else:
        t = float(operator.index(value))
    if t < 0:
        raise ValueError("Timeout value out of range")
    return t
