"""Helpers shared by the benchmarks: run a command and measure its wall time and peak memory;
start a Voilà server and measure its kernels."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil

from observatory.cli import proxy_exemptions

# The benchmarks' own clients (urllib, Chromium) talk to servers on loopback: never through a
# proxy the machine may be configured with (as in tests/conftest.py).
os.environ.update(proxy_exemptions("127.0.0.1"))


@dataclass(frozen=True)
class Measure:
    """Wall time (s), peak resident memory (MB: the command's own high-water mark, or the sum
    over it and its children sampled every 0.1 s, whichever is higher) and CPU time (s, user
    and system, children included) of one command."""

    seconds: float
    peak_mb: float
    cpu_seconds: float = 0.0


# A child forked from a large process inherits its memory high-water mark, so commands are
# started from this small launcher, which reports its own child's exit code, peak RSS and
# CPU time.
LAUNCHER = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss} "
              f"{usage.ru_utime + usage.ru_stime}")
"""


def measure(command: list[str], check: bool = True, **popen) -> Measure:
    """Run ``command`` to completion and return its wall time, peak RSS and CPU time
    (``check``: fail if it exits with an error)."""
    with tempfile.NamedTemporaryFile("r", suffix=".txt") as report:
        started = time.perf_counter()
        launcher = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, report.name, *command],
            stdout=subprocess.DEVNULL,
            **popen,
        )
        tree_bytes = 0
        while launcher.poll() is None:
            tree_bytes = max(tree_bytes, _tree_rss(launcher.pid))
            time.sleep(0.1)
        seconds = time.perf_counter() - started
        if launcher.returncode != 0:
            raise subprocess.CalledProcessError(launcher.returncode, command)
        code, maxrss_kb, cpu = Path(report.name).read_text().split()
    if int(code) != 0 and check:
        raise RuntimeError(f"{' '.join(command)} exited with {code}")
    peak_mb = max(int(maxrss_kb) / 1024, tree_bytes / 2**20)
    return Measure(seconds=seconds, peak_mb=peak_mb, cpu_seconds=float(cpu))


def _tree_rss(launcher: int) -> int:
    """Resident bytes of the launcher's children and all their descendants (0 once gone)."""
    total = 0
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process(launcher).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
    return total


def timed(function, repeat: int = 3) -> float:
    """Best wall time (s) of ``repeat`` calls of ``function``."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


# ---------------------------------------------------------------------------------------------
# A Voilà server (``observatory serve``) for the dashboard and load benchmarks


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """``observatory serve`` in its own process group, on a free port of the loopback."""

    process: subprocess.Popen
    url: str
    log: Path

    @classmethod
    def start(cls, db: Path, log: Path, timeout: float = 120, extra: tuple = ()) -> Server:
        """Start the server (``extra``: more arguments of ``observatory serve``) and wait until
        it answers."""
        from observatory import settings

        port = free_port()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "observatory.cli",
                "serve",
                "--port",
                str(port),
                "--db",
                str(db),
                *extra,
            ],
            cwd=settings.PROJECT_ROOT,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        server = cls(process, f"http://127.0.0.1:{port}", log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(server.url + "/", timeout=2)
                return server
            except OSError:
                time.sleep(0.5)
        server.stop()
        raise RuntimeError(f"Voilà did not answer within {timeout} s (log: {log})")

    def kernels(self) -> dict[str, psutil.Process]:
        """The server's kernel processes by kernel id."""
        found = {}
        for child in psutil.Process(self.process.pid).children(recursive=True):
            try:
                match = re.search(r"kernel-([0-9a-f-]+)\.json", " ".join(child.cmdline()))
            except psutil.Error:
                continue
            if match:
                found[match.group(1)] = child
        return found

    def wait_until_ready(self, kernels: int, timeout: float = 600) -> float:
        """Wait until ``kernels`` preheated kernels wait for a visitor (each has then opened its
        websocket back to the server, in ``wait_for_request``); returns the seconds waited."""
        port = int(self.url.rsplit(":", 1)[1])
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            waiting = 0
            for process in self.kernels().values():
                with contextlib.suppress(psutil.Error):
                    waiting += any(
                        c.raddr and c.raddr.port == port for c in process.net_connections("tcp")
                    )
            if waiting >= kernels:
                break
            time.sleep(1)
        return time.monotonic() - started

    def wait_for_views(self, timeout: float = 900) -> float:
        """Wait until the server's views process (the portrait views and the maps by EPCI
        computed ahead of visitors, ``observatory.dashboards.views``) has ended; returns the
        seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            running = False
            for child in psutil.Process(self.process.pid).children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    running |= "observatory.dashboards.views" in " ".join(child.cmdline())
            if not running:
                break
            time.sleep(1)
        return time.monotonic() - started

    def memory(self) -> dict[str, dict[str, float]]:
        """RSS and PSS (MB) of the server and of each kernel (PSS shares the memory of the
        libraries between the processes that map them: PSS figures add up)."""
        out = {"serveur": _memory(psutil.Process(self.process.pid))}
        for voila in psutil.Process(self.process.pid).children():
            out["serveur"] = {k: out["serveur"][k] + v for k, v in _memory(voila).items()}
        for kernel_id, process in self.kernels().items():
            out[kernel_id] = _memory(process)
        return out

    def stop(self) -> None:
        """Stop the server and every process it started (kernels included)."""
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        except ProcessLookupError:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


def pool_sizes() -> dict[str, int]:
    """Preheated kernels kept by the server for each dashboard, as ``voila.json`` sets them."""
    from observatory import settings

    config = json.loads((settings.PROJECT_ROOT / "voila.json").read_text(encoding="utf-8"))
    if not config.get("VoilaConfiguration", {}).get("preheat_kernel"):
        return {}
    pools = config.get("VoilaKernelManager", {}).get("kernel_pools_config", {})
    default = pools.get("default", {}).get(
        "pool_size", config["VoilaConfiguration"].get("default_pool_size", 1)
    )
    return {
        nb.name: pools.get(nb.name, {}).get("pool_size", default)
        for nb in sorted(settings.DASHBOARDS_DIR.glob("*.ipynb"))
    }


def _cpu(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
        return times.user + times.system
    except psutil.Error:
        return 0.0


def _memory(process: psutil.Process) -> dict[str, float]:
    try:
        info = process.memory_full_info()
        return {"rss": info.rss / 2**20, "pss": info.pss / 2**20}
    except psutil.Error:
        return {"rss": 0.0, "pss": 0.0}
