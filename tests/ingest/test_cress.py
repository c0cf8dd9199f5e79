"""The CRESS template: the documented example loads as is."""

from __future__ import annotations

from ingest_helpers import query, write

from observatory import settings
from observatory.ingest import ingest

EXAMPLE = settings.DATA_DIR / "templates" / "cress_modele.csv"


def test_the_documented_example_loads_without_rejects(db):
    report = ingest([EXAMPLE], db_path=db)[0]
    assert (report.source, report.rows_rejected) == ("cress", 0)
    figures = query(db, "SELECT * FROM published_figures WHERE source = 'cress'")
    assert len(figures) == report.rows_read == 11
    secret = figures[(figures.code == "34") & (figures.family_code == "ASSO")]
    assert secret.value.isna().all() and secret.marker.tolist() == ["s"]
    assert figures.loc[figures.code == "2A", "value"].tolist() == [7.4]


def test_unknown_territory_and_share_above_100_are_rejected_with_reasons(db, tmp_path):
    path = write(
        tmp_path / "cress.csv",
        "niveau;code;annee;famille;secteur;mesure;valeur\n"
        "commune;99999;2023;ASSO;;etablissements;3\n"
        "region;76;2023;ESS;;part_emploi_salarie_pct;140\n"
        + "".join(f"region;76;{y};ESS;;etablissements;{y}\n" for y in range(2000, 2040)),
    )
    ingest([path], db_path=db)
    rejects = query(db, 'SELECT line, "column", value, reason FROM rejects ORDER BY line')
    assert rejects.line.tolist() == [2, 3]
    assert rejects.reason[0].startswith("territoire inconnu au niveau commune")
    assert rejects.reason[1] == "valeur supérieure à 100"


def test_a_merged_commune_is_stored_under_its_current_code(db, tmp_path):
    """Ciel (71131) is part of Verdun-Ciel (71566) since 2025."""
    path = write(
        tmp_path / "cress.csv",
        "niveau;code;annee;famille;secteur;mesure;valeur\ncommune;71131;2023;ASSO;;etablissements;3\n",
    )
    report = ingest([path], db_path=db)[0]
    assert report.rows_rejected == 0
    figures = query(db, "SELECT level, code, value FROM published_figures")
    assert figures.values.tolist() == [["commune", "71566", 3.0]]
    stats = query(db, "SELECT item, value FROM load_stats").set_index("item")["value"]
    assert (
        stats[
            "codes de territoire réparés ou convertis : ancienne commune (fusion ou changement de code)"
        ]
        == 1
    )
