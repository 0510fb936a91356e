"""The fuzz tests drive connections with the scripted-peer harness of tests/tcp."""

from __future__ import annotations

import sys
from pathlib import Path

_TCP = str(Path(__file__).resolve().parents[1] / "tcp")
if _TCP not in sys.path:
    sys.path.insert(0, _TCP)
