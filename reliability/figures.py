"""Figures the reliability tests prove (cases fuzzed, matrix size, faults, replays).

Tests record them here; reliability/conftest.py prints them at the end of the run, so a
CI log shows what was actually exercised, not just that it passed.
"""

from __future__ import annotations

FIGURES: dict[str, str] = {}


def record(name: str, value) -> None:
    FIGURES[name] = str(value)
