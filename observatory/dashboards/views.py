"""Portrait views computed ahead of visitors and stored: a visitor's kernel shows a stored view
instead of computing it (about 0,3 s of processor a page, most of a preheated page's work).

A view is what the portrait page shows for one territory, year and reference: the outputs of
its widgets (key figures, charts, map, address), secrecy already applied, exactly as the page
computed them. Views are stored in the cache folder (``maps.shapes_cache_dir()``), one
folder per *version*: the warehouse's ``sources`` table (every input with its checksum and the
build's time: each build is a new version) and the observatory's code. A kernel reads the
version through its own warehouse connection, so that it never shows another warehouse's
figures; a new build or a new code leaves the old views unused.

``observatory serve`` stores the views of France, the régions and the départements for the
latest year (``precompute``, a background process of the server, again after each refresh);
any other view is computed by the page as before. The same process computes the tables of the
regional overview's maps by EPCI (``maps.map_table``, kept on disk for every kernel): the
first visitor to ask for a région's map by EPCI no longer waits for its 160 territories.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import shutil
import signal
import sys
from pathlib import Path

from observatory import settings
from observatory.dashboards.view_store import COMPLETE, WAREHOUSE, Store, folder

STORED_LEVELS = ("france", "region", "departement")
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def precompute(
    db: Path, levels: tuple[str, ...] = STORED_LEVELS, map_regions: tuple[str, ...] | None = None
) -> int:
    """Store the views of the territories of ``levels`` (France, the régions and the
    départements) for the latest year (those not stored yet) and the tables of the maps by EPCI
    of ``map_regions`` (every région by default), then mark the version complete and remove the
    older versions of this warehouse's views. Returns the number of views computed. One process
    at a time per cache folder (a lock); run in its own process (it imports what the pages
    need)."""
    os.environ["OBSERVATORY_DB"] = str(db)
    import ipywidgets

    from observatory import indicators
    from observatory.dashboards import common, portrait
    from observatory.views import maps

    wh = common.warehouse()
    store = Store(folder(wh))
    with open(maps.shapes_cache_dir() / "vues.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if store.complete():
            return 0
        computed = 0
        for level in levels:
            for code in wh.territories(level)["code"]:
                territory = indicators.resolve(wh, code, level)
                page = portrait.PortraitPage(wh, portrait.Request(territory, None, None))
                key = page.view_key()
                if store.load(key) is not None:
                    continue
                page.update()  # outside Voilà: every step at once
                outputs = page.kept_outputs(key)
                if outputs is not None:  # a failed block is not stored
                    store.save(key, outputs)
                    computed += 1
                ipywidgets.Widget.close_all()  # the page's widgets, kept by ipywidgets otherwise
        _store_epci_maps(wh, map_regions)
        store.path.mkdir(parents=True, exist_ok=True)
        (store.path / WAREHOUSE).write_text(str(Path(db).resolve()), encoding="utf-8")
        (store.path / COMPLETE).write_text("", encoding="utf-8")
        _remove_older(store.path, Path(db).resolve())
    return computed


def _store_epci_maps(wh, regions: tuple[str, ...] | None) -> None:
    """Compute the tables of the maps by EPCI of ``regions`` (every région, the default one
    first: its overview is the one shown) for the latest year, into the maps' disk cache."""
    from observatory import indicators
    from observatory.views import maps

    year = indicators.resolve_year(wh, None)
    if not indicators.has_facts(wh, year):
        return
    if regions is None:
        codes = list(wh.territories("region")["code"])
        regions = sorted(codes, key=lambda code: code != settings.DEFAULT_REGION)
    for code in regions:
        maps.map_table(wh, indicators.resolve(wh, code, "region"), "epci", year)


def _remove_older(current: Path, db: Path) -> None:
    """Remove the other versions of the views of the warehouse ``db`` (older builds), and the
    views of warehouses that no longer exist (a test's, a removed copy)."""
    for other in current.parent.glob("vues-*"):
        with contextlib.suppress(OSError):
            owner = Path((other / WAREHOUSE).read_text(encoding="utf-8"))
            if other != current and (owner == db or not owner.exists()):
                shutil.rmtree(other)


def _die_with_parent() -> None:
    """Linux kills this process when the server that started it dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def main() -> None:
    """``python -m observatory.dashboards.views [DB]``: precompute the views (default warehouse:
    ``$OBSERVATORY_DB``), at low priority."""
    _die_with_parent()
    os.nice(10)
    db = Path(sys.argv[1]) if len(sys.argv) > 1 else settings.db_path()
    computed = precompute(db)
    print(f"Vues du portrait calculées d'avance : {computed}", file=sys.stderr)


if __name__ == "__main__":
    main()
