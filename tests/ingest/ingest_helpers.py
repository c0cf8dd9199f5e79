"""Fixtures of the ingestion tests: the session's empty warehouse (``empty_warehouse_path``, in
tests/conftest.py) copied per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest


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
