"""Running many scripts: one after another on the simulator, several at once on the
kernel (each in a process and a namespace of its own, since they run in real time)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from collections.abc import Callable, Iterable

from . import run_file
from .runner import Failure, Result, Settings


def _exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so that a run that is stopped still deletes the
    network namespace it made (the kernel target cleans up in ``finally``)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def _one(path: str, target: str, settings: Settings | None, keep_events: bool) -> Result:
    try:
        r = run_file(path, target, replace(settings) if settings is not None else None, trace=keep_events)
    except Exception as e:  # a target that cannot start, or an interpreter bug: one line, not a traceback
        return Result(path, target, (settings and settings.profile) or "linux", "error",
                      Failure(0, f"{type(e).__name__}: {e}"))
    if not keep_events:
        r.events = []
    return r


def default_jobs(target: str, n: int) -> int:
    if target == "sim":
        return 1
    return max(1, min(n, 16, 8 * (os.cpu_count() or 1)))


def run_many(paths: Iterable[str], target: str = "sim", settings: Settings | None = None, *,
             jobs: int | None = None, keep_events: bool = False,
             on_result: Callable[[Result], None] | None = None) -> list[Result]:
    """Run every script; results in the order of ``paths``. ``on_result`` sees each one as
    it finishes (in that order too)."""
    paths = list(paths)
    jobs = jobs or default_jobs(target, len(paths))
    results: list[Result] = []
    _exit_on_sigterm()
    if jobs <= 1 or len(paths) <= 1:
        for p in paths:
            r = _one(p, target, settings, keep_events)
            results.append(r)
            if on_result:
                on_result(r)
        return results
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_exit_on_sigterm) as pool:
        futures = [pool.submit(_one, p, target, settings, keep_events) for p in paths]
        for fut in futures:
            r = fut.result()
            results.append(r)
            if on_result:
                on_result(r)
    return results
