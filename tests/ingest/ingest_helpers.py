"""Fixtures of the ingestion tests: an empty warehouse (reference only) built once, copied per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from observatory.build import build


@pytest.fixture(scope="session")
def empty_warehouse_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("empty") / "observatory.duckdb"
    build(path, with_demo=False)
    return path


@pytest.fixture()
def db(empty_warehouse_path, tmp_path) -> Path:
    """A fresh warehouse for real files (no demo data), private to the test."""
    target = tmp_path / "wh" / "observatory.duckdb"
    target.parent.mkdir()
    shutil.copy(empty_warehouse_path, target)
    return target


def query(db: Path, sql: str, params=None):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params).df()


def write(path: Path, text: str, encoding: str = "utf-8", newline: str = "\n") -> Path:
    path.write_bytes(text.replace("\n", newline).encode(encoding))
    return path
