"""Portrait views stored ahead of visitors (observatory/dashboards/views.py): a visitor's kernel
shows exactly what the page computes, without computing it, and only for its own warehouse."""

import base64
import io
import json
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import duckdb
import pandas as pd
import pytest

from observatory import indicators, open_warehouse
from observatory.dashboards import common, portrait, view_store
from observatory.views import frames, maps


def precompute(db, cache, levels, map_regions=()) -> None:
    """``views.precompute`` in a process of its own, as the server runs it (the maps by EPCI of
    ``map_regions`` only)."""
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from observatory.dashboards import views; "
            f"views.precompute(sys.argv[1], {levels!r}, {map_regions!r})",
            str(db),
        ],
        check=True,
        env={**__import__("os").environ, "XDG_CACHE_HOME": str(cache)},
        timeout=600,
    )


@pytest.fixture()
def kernel(warehouse_path, tmp_path, monkeypatch):
    """This process as a visitor's kernel would be: the demo warehouse, an empty cache folder."""
    monkeypatch.setenv("OBSERVATORY_DB", str(warehouse_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    caches = (common.warehouse, common.territory_index, view_store.kernel_store)
    for cached in caches:
        cached.cache_clear()
    yield common.warehouse()
    common.warehouse().close()
    for cached in caches:
        cached.cache_clear()


def refused(*args, **kwargs):
    """Stands in for ``indicators.compute`` where what was stored must not be computed again."""
    raise AssertionError("a view or a map stored ahead was computed again")


XLSX = re.compile(r'href="data:application/vnd\.openxmlformats[^"]*"')


def updated(page):
    """``page.update()`` with every step at once, in a thread without an event loop (a browser
    test's Playwright leaves one set in the main thread, where the steps would wait for it)."""
    with ThreadPoolExecutor(1) as thread:
        thread.submit(page.update).result()
    return page


def shown(page) -> list[list[dict]]:
    return [list(widget.outputs) for widget in page._outputs]


def without_xlsx(outputs: list[list[dict]]) -> tuple[str, list[pd.DataFrame]]:
    """The outputs with their XLSX downloads apart (a workbook carries the time it was written),
    and the tables those downloads hold."""
    text = json.dumps(outputs, ensure_ascii=False)
    tables = [
        pd.read_excel(io.BytesIO(base64.b64decode(uri.split(",", 1)[1].rstrip('"'))))
        for uri in XLSX.findall(text.replace('\\"', '"'))
    ]
    return XLSX.sub("XLSX", text.replace('\\"', '"')), tables


def test_a_stored_view_is_shown_as_computed_without_computing(kernel, tmp_path, monkeypatch):
    precompute(kernel.path, tmp_path, ("france", "region"))
    occitanie = indicators.resolve(kernel, "76", "region")
    computed = portrait.PortraitPage(kernel, portrait.Request(occitanie, None, None))
    updated(computed)  # papermill, the static site: computed as before

    monkeypatch.setenv("SERVER_SOFTWARE", "voila/0.5.13")  # a kernel serving a visitor
    frames._FRAMES.clear()

    with monkeypatch.context() as patched:
        patched.setattr(indicators, "compute", refused)
        served = portrait.PortraitPage(kernel, portrait.Request(occitanie, None, None))
        updated(served)
    text, tables = without_xlsx(shown(served))
    expected_text, expected_tables = without_xlsx(shown(computed))
    assert text == expected_text
    assert len(tables) == len(expected_tables) >= 6
    for table, expected in zip(tables, expected_tables):
        pd.testing.assert_frame_equal(table, expected)
    assert "Occitanie (région 76), 2022" in json.dumps(shown(served), ensure_ascii=False)
    charts = [
        sum("application/vnd.plotly.v1+json" in o["data"] for outputs in shown(p) for o in outputs)
        for p in (served, computed)
    ]
    assert charts[0] == charts[1] >= 6  # every chart and the map

    # A view not stored (a département here) is computed, as before.
    herault = indicators.resolve(kernel, "34", "departement")
    page = portrait.PortraitPage(kernel, portrait.Request(herault, None, None))
    updated(page)
    assert "Hérault (département 34), 2022" in json.dumps(shown(page), ensure_ascii=False)
    assert not (view_store.kernel_store().path / "departement-34-2022-parent.json").exists()


def test_a_regions_map_by_epci_is_computed_ahead_of_its_first_visitor(
    kernel, tmp_path, monkeypatch
):
    """The regional overview's map by EPCI (160 territories in Occitanie: 10 s for the first
    visitor on a busy server) is ready in every kernel once the server has stored its views."""
    precompute(kernel.path, tmp_path, (), ("76",))
    occitanie = indicators.resolve(kernel, "76", "region")
    year = indicators.resolve_year(kernel, None)
    assert maps.map_prefetch(kernel, occitanie, "epci", year) == []  # nothing left to compute

    with monkeypatch.context() as patched:
        patched.setattr(indicators, "compute", refused)
        table = maps.map_table(kernel, occitanie, "epci", year)
        block = maps.map_block(kernel, occitanie, "epci", year)
    epcis = kernel.sql("SELECT code FROM territories WHERE level = 'epci' AND region_code = '76'")
    assert sorted(table["code"]) == sorted(epcis["code"]) and len(epcis) > 100
    assert len(block.table) == len(epcis)
    # Another région's map is not computed ahead when not asked for.
    auvergne = indicators.resolve(kernel, "84", "region")
    assert maps.map_prefetch(kernel, auvergne, "epci", year) != []


def test_views_belong_to_one_build_of_the_warehouse(warehouse_path, tmp_path):
    """A new build (the same file replaced by a refresh) has views of its own: a kernel never
    shows another build's figures, and the older views are removed once the new are stored."""
    db = tmp_path / "entrepot" / "observatory.duckdb"
    db.parent.mkdir()
    shutil.copy(warehouse_path, db)
    with open_warehouse(db) as wh:
        first = view_store.version(wh)
    with open_warehouse(warehouse_path) as wh:
        assert view_store.version(wh) == first  # the same build, copied
    precompute(db, tmp_path / "cache", ("france",))
    stored = list((tmp_path / "cache" / "observatory").glob("vues-*"))
    assert [p.name for p in stored] == [f"vues-{first}"]
    assert (stored[0] / "france-FR-2022-parent.json").is_file()
    assert (stored[0] / view_store.COMPLETE).is_file()

    with duckdb.connect(str(db)) as con:  # another build: its inputs loaded at another time
        con.execute("UPDATE sources SET loaded_at = loaded_at + INTERVAL 1 DAY")
    with open_warehouse(db) as wh:
        second = view_store.version(wh)
    assert second != first
    gone = tmp_path / "cache" / "observatory" / "vues-0123456789abcdef0123"  # a removed test's
    gone.mkdir()
    (gone / view_store.WAREHOUSE).write_text(str(tmp_path / "supprime.duckdb"), encoding="utf-8")
    precompute(db, tmp_path / "cache", ("france",))
    stored = list((tmp_path / "cache" / "observatory").glob("vues-*"))
    assert [p.name for p in stored] == [f"vues-{second}"]
