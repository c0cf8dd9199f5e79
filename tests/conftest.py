"""Shared fixtures: one demo warehouse per test session, the real public files of tests/data/real."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import hypothesis
import psutil
import pytest

from observatory import settings
from observatory.cli import proxy_exemptions
from observatory.publish.note import CHROMIUM_FLAGS
from observatory.warehouse.build import build

ROOT = settings.PROJECT_ROOT
REAL_DATA = ROOT / "tests" / "data" / "real"  # real public files, described in its README
OBSERVATORY = [sys.executable, "-m", "observatory.cli"]
# The tests' own clients (websocket-client, Chromium) talk to servers on loopback: never through
# a proxy the machine may be configured with.
os.environ.update(proxy_exemptions("127.0.0.1"))

# The daily loop's Hypothesis profile (make test-fast: --hypothesis-profile=daily): the fuzz
# tests draw 40 % of the examples of the full suite (test_fuzz.examples).
hypothesis.settings.register_profile("daily", max_examples=40)


@contextlib.contextmanager
def built_once(tmp_path_factory, name: str):
    """A folder for a file every test process shares: yields (path, True) to the process that
    must build it, (path, False) to the others once it is built. Under pytest-xdist the workers
    share their parent's temporary folder and take turns on a lock; alone, it is built here."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        yield tmp_path_factory.mktemp(name) / "observatory.duckdb", True
        return
    folder = tmp_path_factory.getbasetemp().parent / name
    folder.mkdir(exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        done = folder / ".built"
        yield folder / "observatory.duckdb", not done.exists()
        done.touch()


@pytest.fixture(scope="session")
def warehouse_path(tmp_path_factory) -> Path:
    """A demo warehouse built once for the whole session (a real DuckDB file), shared by the
    workers of ``make test-fast``."""
    with built_once(tmp_path_factory, "warehouse") as (path, first):
        if first:
            build(path)
    return path


@pytest.fixture(scope="module")
def demo_db(warehouse_path):
    """Point the dashboards' kernel-wide warehouse (``common.warehouse``) and its caches at
    the session's demo warehouse for the module's tests; yield that connection."""
    from observatory.dashboards import common

    caches = (common.warehouse, common.territory_index)
    mp = pytest.MonkeyPatch()
    mp.setenv("OBSERVATORY_DB", str(warehouse_path))
    for cached in caches:
        cached.cache_clear()
    yield common.warehouse()
    common.warehouse().close()
    for cached in caches:
        cached.cache_clear()
    mp.undo()


@pytest.fixture(scope="session")
def empty_warehouse_path(tmp_path_factory) -> Path:
    """A warehouse for real files (reference data only, no demo), built once for the session."""
    with built_once(tmp_path_factory, "empty") as (path, first):
        if first:
            build(path, with_demo=False)
    return path


@pytest.fixture(scope="session")
def one_source_warehouses(empty_warehouse_path, tmp_path_factory) -> dict[str, Path]:
    """A warehouse for real files per source (sirene, insee, urssaf, cress, essfrance), each
    holding that source alone (tests/real_sources.py)."""
    from real_sources import SOURCES, source_files, warehouse_with

    made = {}
    for source in SOURCES:
        folder = tmp_path_factory.mktemp(f"only-{source}")
        made[source] = warehouse_with(empty_warehouse_path, folder, source_files(source, folder))
    return made


@pytest.fixture()
def db(empty_warehouse_path, tmp_path) -> Path:
    """A fresh warehouse for real files (no demo data), private to the test."""
    target = tmp_path / "wh" / "observatory.duckdb"
    target.parent.mkdir()
    shutil.copy(empty_warehouse_path, target)
    return target


@pytest.fixture(scope="session")
def wh(warehouse_path):
    from observatory import open_warehouse

    with open_warehouse(warehouse_path) as warehouse:
        yield warehouse


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The real public files kept in the repository (tests/data/real/README.md)."""
    return REAL_DATA


def run_cli(
    *args: str, env: dict | None = None, timeout: float = 600
) -> subprocess.CompletedProcess:
    """Run the ``observatory`` command in a subprocess, as a user would."""
    return subprocess.run(
        [*OBSERVATORY, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )


def run_clis(*commands: list[str], **options) -> list[subprocess.CompletedProcess]:
    """``run_cli`` of independent commands, run side by side (each is a process of its own that
    spends seconds importing): the results in the order of the commands."""
    with ThreadPoolExecutor(max_workers=len(commands)) as pool:
        return list(pool.map(lambda command: run_cli(*command, **options), commands))


@contextlib.contextmanager
def in_background(args: list[str], logs: Path, timeout: float, **options):
    """``observatory ARGS`` started in the background, its output in files in ``logs``; yields a
    function that waits for it and gives its CompletedProcess. Killed (with its process group)
    on exit if it still runs."""
    with open(logs / "stdout", "w") as out, open(logs / "stderr", "w") as err:
        proc = subprocess.Popen(
            [*OBSERVATORY, *args],
            cwd=ROOT,
            stdout=out,
            stderr=err,
            text=True,
            start_new_session=True,
            **options,
        )

    def wait() -> subprocess.CompletedProcess:
        proc.wait(timeout=timeout)
        return subprocess.CompletedProcess(
            proc.args, proc.returncode, (logs / "stdout").read_text(), (logs / "stderr").read_text()
        )

    try:
        yield wait
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# A real Voilà server and a real headless Chromium, shared by the browser tests

CHROMIUM = "/usr/bin/chromium"
BROWSER_TIMEOUT = 180_000  # ms: a kernel started on demand on a busy 2-core machine
# Preheated portrait kernels in tests (voila.json has more for real visitors). Voilà starts the
# kernel that replaces a used one only fill_delay (20 s) later, and a visitor who finds that
# one in the pool waits for it: three serve the simultaneous visitors of test_load, and the
# portraits opened one after the other by the other tests without waiting.
TEST_RESERVE = 3


def preheated_kernels(reserve: int) -> int:
    """Kernels ``observatory serve --reserve`` preheats: ``reserve`` for the portrait, one for
    every other dashboard (none with ``--reserve 0``)."""
    dashboards = [nb.name for nb in (ROOT / "dashboards").glob("*.ipynb")]
    return sum(reserve if name == "portrait.ipynb" else min(reserve, 1) for name in dashboards)


@contextlib.contextmanager
def voila_server(db: Path, reserve: int = TEST_RESERVE, timeout: float = 600):
    """``observatory serve`` on a free loopback port, yielded (its URL) once its preheated
    kernels wait for visitors; stopped when the block ends (see ``dashboard_server``)."""
    with dashboard_server(db, reserve, timeout) as server:
        yield server.url


@dataclass
class Served:
    """A running ``observatory serve``: its address, process and log."""

    url: str
    process: subprocess.Popen
    log: Path

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def kernels(self) -> list[psutil.Process]:
        """The server's kernel processes."""
        return [child for child in _children(self.process) if _is_kernel(child)]

    def waiting_kernels(self) -> int:
        """Kernels with a connection open to the server: preheated ones waiting for a visitor."""
        return sum(_connected_to(kernel, self.port) for kernel in self.kernels())

    def wait_for_preheated(self, expected: int, timeout: float = 600) -> None:
        """Until the server answers and ``expected`` preheated kernels wait for visitors (each
        has its websocket open to the server); fails, quoting the log, if the server stops or
        the time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            answering, ready = self._answers(), self.waiting_kernels()
            if answering and ready >= expected:
                return
            if self.process.poll() is not None:
                pytest.fail(
                    f"observatory serve stopped with code {self.process.returncode}\n"
                    f"{log_tail(self.log)}"
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"{ready} of Voilà's {expected} preheated kernels ready within {timeout} s "
                    f"(server answering: {answering})\n{log_tail(self.log)}"
                )
            time.sleep(1)

    def _answers(self) -> bool:
        """Whether the server answers HTTP requests (its kernels may start before it listens)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2):
                return True
        except OSError:
            return False


@contextlib.contextmanager
def dashboard_server(
    db: Path,
    reserve: int = TEST_RESERVE,
    timeout: float = 600,
    args: tuple[str, ...] = (),
    env: dict | None = None,
):
    """``observatory serve ARGS`` on a free loopback port, yielded (a ``Served``) once its
    preheated kernels wait for visitors; stopped when the block ends.

    The server runs as behind a proxy that cannot reach this machine (``https_proxy`` set,
    ``no_proxy`` unset): its kernels must still reach their own server. Its output goes to a
    log whose end a failure quotes."""
    port = free_port()
    unreachable_proxy = f"http://127.0.0.1:{free_port()}"
    environment = {name: value for name, value in os.environ.items() if name.lower() != "no_proxy"}
    environment.update(http_proxy=unreachable_proxy, https_proxy=unreachable_proxy, **(env or {}))
    proc, log = start_serve(db, port, reserve, environment, args)
    try:
        server = Served(f"http://127.0.0.1:{port}", proc, log)
        server.wait_for_preheated(preheated_kernels(reserve), timeout)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        log.unlink()


def start_serve(
    db: Path, port: int, reserve: int, env: dict | None = None, args: tuple[str, ...] = ()
) -> tuple[subprocess.Popen, Path]:
    """``observatory serve`` started in a session of its own, its output in a temporary log
    (``log_tail`` quotes its end; the caller removes it)."""
    handle, name = tempfile.mkstemp(prefix="serve-", suffix=".log")
    with os.fdopen(handle, "w") as out:
        proc = subprocess.Popen(
            [
                *OBSERVATORY,
                "serve",
                "--port",
                str(port),
                "--db",
                str(db),
                "--reserve",
                str(reserve),
                *args,
            ],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    return proc, Path(name)


def log_tail(log: Path, lines: int = 60) -> str:
    """The end of a server's log, for a failure message."""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _children(proc: subprocess.Popen) -> list[psutil.Process]:
    try:
        return psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        return []


def command_line(process: psutil.Process) -> str:
    """A process's command line, empty once it is gone (a kernel the server stopped meanwhile)."""
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


def _is_kernel(process: psutil.Process) -> bool:
    try:
        return any(".json" in part and "kernel-" in part for part in process.cmdline())
    except psutil.Error:
        return False


def _connected_to(process: psutil.Process, port: int) -> bool:
    try:
        return any(c.raddr and c.raddr.port == port for c in process.net_connections("tcp"))
    except psutil.Error:
        return False


SLOW = ("browser", "load", "fault")  # the marks make test-fast leaves out (Makefile)
# The fast tier's heaviest files, handed out first so that the two workers end together
# (processor seconds on the 2-core machine, 6 December 2026: 133, 62, 28, 27, 34 and 19; in this
# order the two workers' test times were 268 and 264 s).
HEAVY = (
    "tests/publish/test_refresh.py",
    "tests/dashboards/test_logic.py",
    "tests/ingest/test_fuzz.py",
    "tests/ingest/test_pipeline.py",
    "tests/secrecy/test_audit.py",
    "tests/dashboards/test_views.py",
)


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which reads the groups
def pytest_collection_modifyitems(config, items):
    """Groups for pytest-xdist's ``--dist loadgroup`` (``make test``, ``make test-fast``): a
    file's tests run on one worker, in their order, so that its module fixtures (a refresh, the
    notebooks' runs, a server) are made once; every test of the session's Voilà server
    (``voila_url``) runs on one worker, which alone starts that server, and so does every load
    test (many visitors, each with a server of its own), so that no two of them run at once.
    Without xdist, nothing changes."""
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            shared = "voila_url" in item.fixturenames or item.get_closest_marker("load")
            name = "voila" if shared else item.nodeid.split("::")[0]
            item.add_marker(pytest.mark.xdist_group(name))


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which sends the tests in this order
def pytest_collection_finish(session):
    """xdist hands the groups out in the order of their first test (``--no-loadscope-reorder``):
    the groups holding slow tests (browser, load, fault) go first, then the heaviest files, so
    that the other worker is not left idle at the end while one of them runs. Sorted here, once
    the tests that ``-m`` leaves out are gone."""
    if not getattr(session.config.option, "loadgroup", False):  # set on xdist's workers
        return
    items = session.items
    group = {item: item.get_closest_marker("xdist_group").args[0] for item in items}
    slow = {group[item] for item in items if any(map(item.get_closest_marker, SLOW))}
    rank = {name: i for i, name in enumerate(HEAVY)}
    items.sort(key=lambda item: (group[item] not in slow, rank.get(group[item], len(HEAVY))))


def pytest_configure(config):
    """Refuse pytest 9.2 or later under ``--dist loadgroup``: pytest-xdist marks a grouped test
    by a suffix of its id, which pytest 9.2 no longer keeps (pytest-xdist issue #1386), so every
    group would silently be split between the workers, and every module fixture (a refresh, a
    server) made on both. pyproject.toml holds pytest below 9.2."""
    if config.getoption("dist", "no") == "loadgroup" and pytest.version_tuple[:2] >= (9, 2):
        raise pytest.UsageError(
            "--dist loadgroup needs pytest below 9.2 (pytest-xdist #1386): "
            "run `make setup-dev` to install the versions pyproject.toml allows"
        )


@pytest.fixture(scope="session")
def voila_url(warehouse_path):
    """One server for all dashboard tests on the session's demo warehouse."""
    with voila_server(warehouse_path) as url:
        yield url


@pytest.fixture(autouse=True)
def pages_closed_after_each_test(request):
    """Every page a browser test leaves open (a failing one stops before closing its own) is
    closed after it: the session's one Chromium otherwise kept them, drawing and reconnecting
    to servers long gone, beside the pages of every later test."""
    yield
    if "browser" in request.fixturenames:
        for context in request.getfixturevalue("browser").contexts:
            with contextlib.suppress(Exception):  # closed meanwhile, or the browser gone
                context.close()


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the session (Playwright's sync API allows one at a time)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=CHROMIUM_FLAGS,
        )
        yield browser
        browser.close()
