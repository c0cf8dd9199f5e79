"""The portrait notebook's ``Portrait`` (observatory.publication) holds its warehouse: the
kernel's own connection, opened once per kernel and warehouse file."""

from pathlib import Path

from observatory import publication
from observatory.publication import Portrait


def test_the_portraits_of_one_kernel_share_one_warehouse(demo_db, warehouse_path):
    # The static site renders all of a worker's portraits in one kernel: a connection per
    # portrait would rebuild the engine's per-warehouse cache for each of them.
    publication._WAREHOUSES.clear()
    try:
        lozere = Portrait.load("48")
        occitanie = Portrait.load("76", "region", publication=True)
        assert lozere.wh is occitanie.wh is publication.warehouse(warehouse_path)
        assert lozere.wh.path == Path(warehouse_path).resolve()
        assert lozere.territory.name == "Lozère" and occitanie.territory.name == "Occitanie"
        given = Portrait.load("48", wh=demo_db)  # a warehouse handed in is the one used
        assert given.wh is demo_db
    finally:
        for wh in publication._WAREHOUSES.values():
            wh.close()
        publication._WAREHOUSES.clear()
