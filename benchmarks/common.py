"""Helpers shared by the benchmarks: run a command and measure its wall time and peak memory."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Measure:
    """Wall time (s) and peak resident memory (MB) of one command."""

    seconds: float
    peak_mb: float


# A child forked from a large process inherits its memory high-water mark, so commands are
# started from this small launcher, which reports its own child's exit code and peak RSS.
LAUNCHER = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


def measure(command: list[str], check: bool = True, **popen) -> Measure:
    """Run ``command`` to completion and return its wall time and peak RSS (``check``: fail
    if it exits with an error)."""
    with tempfile.NamedTemporaryFile("r", suffix=".txt") as report:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", LAUNCHER, report.name, *command], check=True,
                       stdout=subprocess.DEVNULL, **popen)
        seconds = time.perf_counter() - started
        code, maxrss_kb = (int(x) for x in Path(report.name).read_text().split())
    if code != 0 and check:
        raise RuntimeError(f"{' '.join(command)} exited with {code}")
    return Measure(seconds=seconds, peak_mb=maxrss_kb / 1024)


def timed(function, repeat: int = 3) -> float:
    """Best wall time (s) of ``repeat`` calls of ``function``."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best
