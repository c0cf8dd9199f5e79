"""Helpers of the ingestion tests (their fixture ``db`` lives in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import duckdb


def query(db: Path, sql: str, params=None):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params).df()


def write(path: Path, text: str, encoding: str = "utf-8", newline: str = "\n") -> Path:
    path.write_bytes(text.replace("\n", newline).encode(encoding))
    return path
