"""The warehouse build: schema, aggregation, sources, atomicity."""

import hashlib
import shutil
import signal
import subprocess
import time

import duckdb
import pytest
from conftest import OBSERVATORY, ROOT, run_cli

KEY_FIGURES_COLUMNS = [
    "level",
    "code",
    "name",
    "year",
    "ess_establishments",
    "ess_employees",
    "total_employees",
    "ess_share_pct",
]
SOURCES_COLUMNS = {
    "source",
    "file",
    "vintage",
    "file_sha256",
    "loaded_at",
    "rows_read",
    "rows_loaded",
    "rows_rejected",
    "synthetic",
}


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_key_figures_view_has_the_documented_columns(wh):
    assert list(wh.sql("SELECT * FROM key_figures LIMIT 0").columns) == KEY_FIGURES_COLUMNS
    levels = set(wh.sql("SELECT DISTINCT level FROM key_figures")["level"])
    assert levels == {"commune", "epci", "departement", "region", "france"}


def test_sources_table_records_every_input(wh):
    sources = wh.sources()
    assert set(sources.columns) >= SOURCES_COLUMNS
    demo = sources[sources["source"].str.startswith("demo:")]
    assert (
        set(demo["source"]) == {"demo:ess_facts", "demo:ess_size_facts", "demo:employment_totals"}
        and demo["synthetic"].all()
    )
    assert (demo["rows_loaded"] == demo["rows_read"]).all()
    assert (sources["rows_rejected"] == 0).all()
    assert sources["file_sha256"].str.fullmatch(r"[0-9a-f]{64}").all()
    assert not sources.loc[sources["source"].str.startswith("reference:"), "synthetic"].any()


def test_codes_are_text_with_corsica_and_overseas(wh):
    deps = set(wh.territories("departement")["code"])
    assert {"01", "2A", "2B", "971", "976"} <= deps
    assert wh.sql("SELECT typeof(code) AS t FROM territories LIMIT 1")["t"].iloc[0] == "VARCHAR"
    assert "01001" in set(wh.territories("commune", departement="01")["code"])


def test_aggregation_matches_an_independent_sum_of_commune_facts(wh):
    """Département and EPCI key figures equal the sums of their communes' facts (pandas)."""
    facts = wh.sql(
        "SELECT commune_code, establishments, employees FROM ess_facts WHERE year = 2016"
    )
    communes = wh.territories("commune")[["code", "departement_code", "epci_code"]]
    merged = facts.merge(communes, left_on="commune_code", right_on="code")
    for level, column in (("departement", "departement_code"), ("epci", "epci_code")):
        expected = merged.groupby(column)[["establishments", "employees"]].sum()
        got = wh.key_figures(level, year=2016).set_index("code")
        joined = expected.join(got[["ess_employees", "ess_establishments"]])
        assert (joined["employees"] == joined["ess_employees"]).all(), level
        assert (joined["establishments"] == joined["ess_establishments"]).all(), level


def test_ess_share_equals_ess_over_all_salaried_employment(wh):
    herault = wh.key_figures("departement", "34", 2020).iloc[0]
    other = wh.sql(
        "SELECT sum(private_non_ess_employees + public_employees) AS n FROM employment_totals e "
        "JOIN territories t ON t.code = e.commune_code AND t.level = 'commune' "
        "WHERE t.departement_code = '34' AND e.year = 2020"
    )["n"].iloc[0]
    assert herault.total_employees == herault.ess_employees + other
    assert herault.ess_share_pct == pytest.approx(
        100 * herault.ess_employees / (herault.ess_employees + other)
    )


def test_readers_open_the_warehouse_read_only(wh):
    with pytest.raises(duckdb.Error):
        wh.sql("CREATE TABLE intruder (x INTEGER)")


@pytest.fixture()
def previous_warehouse(warehouse_path, tmp_path):
    """A copy of a good warehouse standing where a new build will be written."""
    target = tmp_path / "observatory.duckdb"
    shutil.copy(warehouse_path, target)
    return target


def test_failing_build_leaves_the_previous_warehouse_intact(previous_warehouse, tmp_path):
    before = sha256(previous_warehouse)
    broken = tmp_path / "reference"
    shutil.copytree(ROOT / "data" / "reference", broken)
    (broken / "communes.parquet").write_bytes(b"PAR1 truncated")
    result = run_cli(
        "build", "--db", str(previous_warehouse), env={"OBSERVATORY_REFERENCE_DIR": str(broken)}
    )
    assert result.returncode == 1
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("Erreur : ")
    assert "communes.parquet" in message and "précédent est conservé" in message
    assert sha256(previous_warehouse) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.fault  # a real build killed with SIGKILL: make test, not test-fast
def test_killed_build_leaves_the_previous_warehouse_intact(previous_warehouse):
    before = sha256(previous_warehouse)
    proc = subprocess.Popen(
        [*OBSERVATORY, "build", "--db", str(previous_warehouse)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    scratch = f".{previous_warehouse.name}.building-{proc.pid}"
    deadline = time.monotonic() + 120
    while not (previous_warehouse.parent / scratch).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(3)  # well inside the build
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert sha256(previous_warehouse) == before
    with duckdb.connect(str(previous_warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM key_figures").fetchone()[0] > 0


def test_a_new_build_replaces_the_warehouse_and_removes_a_dead_builds_scratch(
    empty_warehouse_path, tmp_path
):
    """``observatory build`` over a good warehouse, beside the scratch file of a dead build:
    the warehouse is replaced whole (a new file), the dead build's scratch file is gone. That a
    build gives the session's figures again is checked on the demo refresh's build
    (tests/publish/test_refresh.py), a second demo build costing the fast tier a minute."""
    target = tmp_path / "observatory.duckdb"
    shutil.copy(empty_warehouse_path, target)
    (tmp_path / f".{target.name}.building-999999999").write_bytes(b"x")
    before = target.stat().st_ino
    result = run_cli("build", "--no-demo", "--db", str(target))
    assert result.returncode == 0, result.stderr
    assert "Entrepôt construit" in result.stderr
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert target.stat().st_ino != before  # replaced, not written over
    with duckdb.connect(str(target), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM territories").fetchone()[0] > 30_000


def test_size_classes_count_every_establishment_once(wh):
    """Each commune and year: the establishments of its size classes are those of its families,
    and no establishment of fewer than 10 posts sits in a larger class (largest one's size)."""
    by_family = wh.sql(
        "SELECT commune_code, year, sum(establishments) AS n, sum(employees) AS e "
        "FROM ess_facts GROUP BY ALL"
    )
    by_size = wh.sql(
        "SELECT commune_code, year, sum(establishments) AS n, sum(employees) AS e "
        "FROM ess_size_facts GROUP BY ALL"
    )
    merged = by_family.merge(by_size, on=["commune_code", "year"], how="outer")
    assert len(merged) == len(by_family) and (merged["n_x"] == merged["n_y"]).all()
    assert (merged["e_x"] == merged["e_y"]).all()  # demo: exact posts of each establishment
    limits = {"0-9": (0, 9), "10-49": (10, 49), "50-249": (50, 249), "250+": (250, 10**9)}
    cells = wh.sql(
        "SELECT size_class, establishments, employees, top_employees FROM ess_size_facts"
    )
    low = cells["size_class"].map(lambda c: limits[c][0])
    high = cells["size_class"].map(lambda c: limits[c][1])
    assert (cells["top_employees"] <= high).all()
    assert (cells["employees"] >= low * cells["establishments"]).all()
    assert (cells["employees"] <= high * cells["establishments"]).all()
