"""Parsers for option values shared by several subcommands (argparse ``type=`` functions)."""

from __future__ import annotations

import argparse
import math


def probability(text: str, *, allow_one: bool = True) -> float:
    """A probability such as ``0.05``, or a percentage such as ``5%``. ``allow_one=False``
    excludes 1 (a path that loses everything cannot carry an experiment)."""
    s = text.strip()
    try:
        p = float(s[:-1]) / 100 if s.endswith("%") else float(s)
    except ValueError:
        p = math.nan
    ok = 0.0 <= p <= 1.0 if allow_one else 0.0 <= p < 1.0  # both false for NaN
    if not ok:
        bound = "between 0 and 1" if allow_one else "at least 0 and below 1"
        raise argparse.ArgumentTypeError(
            f"must be a probability {bound} (or a percentage such as 5%), not {text!r}")
    return p
