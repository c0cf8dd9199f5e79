"""Helpers shared by the benchmarks: run a command and measure its wall time and peak memory."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Measure:
    """Wall time (s) and peak resident memory (MB) of one command."""

    seconds: float
    peak_mb: float


def measure(command: list[str], **popen) -> Measure:
    """Run ``command`` to completion; its peak RSS comes from ``wait4`` (largest process)."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, **popen)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited with {proc.returncode}")
    return Measure(seconds=seconds, peak_mb=usage.ru_maxrss / 1024)


def timed(function, repeat: int = 3) -> float:
    """Best wall time (s) of ``repeat`` calls of ``function``."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best
