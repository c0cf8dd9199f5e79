"""The portrait views stored ahead of visitors (:mod:`observatory.dashboards.views` computes
them): one folder per version — the warehouse's ``sources`` table and the observatory's code —
read by a visitor's kernel through its own warehouse connection."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from observatory import fsutil

COMPLETE = "complet"  # marker written once every view of a version is stored
WAREHOUSE = "entrepot"  # the warehouse's path, to remove the older versions of its views


@lru_cache(maxsize=1)
def code_version() -> str:
    """Digest of the observatory's code and SQL: views computed by another code are not used."""
    digest = hashlib.sha1()
    package = Path(__file__).resolve().parents[1]
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".sql", ".toml") and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def version(wh) -> str:
    """The version of the views of the warehouse ``wh`` (read through its own connection)."""
    rows = wh.connection.execute(
        "SELECT * FROM sources ORDER BY ALL"  # every input, checksum and build time
    ).fetchall()
    return hashlib.sha1((repr(rows) + code_version()).encode()).hexdigest()[:20]


def folder(wh) -> Path:
    from observatory.views import maps

    return maps.shapes_cache_dir() / f"vues-{version(wh)}"


def file_name(key: tuple) -> str:
    """``departement-34-2022-parent.json`` for the view (level, code, year, reference)."""
    level, code, year, reference = key
    ref = "parent" if reference is None else "-".join(reference)
    return f"{level}-{code}-{year}-{ref}.json"


class Store:
    """The stored views of one warehouse version."""

    def __init__(self, path: Path):
        self.path = path

    def load(self, key: tuple) -> list[list[dict]] | None:
        """The outputs of each widget of the view ``key``, or None when it is not stored."""
        try:
            return json.loads((self.path / file_name(key)).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def save(self, key: tuple, outputs: list[list[dict]]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        target = self.path / file_name(key)
        fsutil.write_atomic(target, json.dumps(outputs, separators=(",", ":")))

    def complete(self) -> bool:
        return (self.path / COMPLETE).is_file()


@lru_cache(maxsize=1)
def kernel_store() -> Store | None:
    """The store of this kernel's warehouse, or None when it cannot be read."""
    from observatory.dashboards import common

    try:
        return Store(folder(common.warehouse()))
    except Exception:  # no store is no worse than before: the page computes its views
        return None
