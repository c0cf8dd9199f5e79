"""Shared fixtures: one demo warehouse per test session, real public files from ../shared."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from observatory import settings
from observatory.build import build

ROOT = settings.PROJECT_ROOT
OBSERVATORY = [sys.executable, "-m", "observatory.cli"]


@pytest.fixture(scope="session")
def warehouse_path(tmp_path_factory) -> Path:
    """A demo warehouse built once for the whole session (a real DuckDB file)."""
    path = tmp_path_factory.mktemp("warehouse") / "observatory.duckdb"
    build(path)
    return path


@pytest.fixture(scope="session")
def wh(warehouse_path):
    from observatory import open_warehouse

    with open_warehouse(warehouse_path) as warehouse:
        yield warehouse


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The real public files in ../shared/data/real (never copied into the repository)."""
    path = ROOT.parent / "shared" / "data" / "real"
    assert path.is_dir(), f"missing {path}: the real test files live beside the project"
    return path


def run_cli(*args: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the ``observatory`` command in a subprocess, as a user would."""
    return subprocess.run(
        [*OBSERVATORY, *args], capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})}, cwd=ROOT,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
