"""Shared by every test directory. This folder is on ``sys.path`` (for ``golden``).

Hypothesis: the machines that run the suite are shared and busy, so how fast examples are
generated says nothing about synack; the ``too_slow`` health check is off everywhere.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile("synack", suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("synack")
