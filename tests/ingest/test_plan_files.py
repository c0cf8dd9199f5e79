"""The regional ESS plan through `observatory ingest`: the four templates load in one call in
any order, references are checked, bad rows are rejected with reasons, measures accumulate."""

from __future__ import annotations

import re

import pytest
from conftest import run_cli
from ingest_helpers import query, write

from observatory import plan, settings
from observatory.ingest import ingest
from observatory.warehouse.build import BuildError

TEMPLATES = settings.DATA_DIR / "templates"


def test_the_four_templates_load_in_one_call_whatever_their_order(db):
    files = [
        TEMPLATES / f"plan_{name}.csv" for name in ("evenements", "indicateurs", "actions", "axes")
    ]
    reports = ingest(files, db_path=db)
    assert [r.source for r in reports] == ["plan"] * 4
    assert sum(r.rows_rejected for r in reports) == 0
    counts = (
        query(
            db,
            "SELECT (SELECT count(*) FROM plan_axes) AS axes, "
            "(SELECT count(*) FROM plan_actions) AS actions, "
            "(SELECT count(*) FROM plan_indicators) AS indicators, "
            "(SELECT count(*) FROM plan_events) AS events",
        )
        .iloc[0]
        .tolist()
    )
    assert counts == [2, 2, 2, 3]
    progress = query(db, "SELECT * FROM plan_indicator_progress WHERE action_code = '1.1'")
    assert progress["progress_pct"].tolist() == [75.0]
    events = query(db, "SELECT * FROM plan_events_by_departement ORDER BY departement_code")
    assert events["departement_code"].tolist()[:2] == ["34", "46"]  # Figeac is in the Lot
    assert not query(db, "SELECT bool_or(synthetic) AS s FROM plan_actions")["s"][0]


def test_an_action_of_an_unknown_axis_refuses_the_whole_load(db, tmp_path):
    actions = write(
        tmp_path / "actions.csv",
        "action;axe;intitule;pilote;niveau;territoire;statut;date_debut;date_fin;budget_eur\n"
        "9.1;9;Action orpheline;CRESS;region;76;en_cours;2025;2026;\n",
    )
    result = run_cli("ingest", str(TEMPLATES / "plan_axes.csv"), str(actions), "--db", str(db))
    assert result.returncode == 1
    assert re.search(
        r"^Erreur : .*actions.csv, ligne 2, colonne axe, valeur « 9 » : axe absent de "
        r"plan_axes",
        result.stderr,
    )
    with pytest.raises(BuildError):  # the same through the Python API
        ingest([TEMPLATES / "plan_axes.csv", actions], db_path=db)
    assert query(db, "SELECT count(*) AS n FROM plan_axes")["n"][0] == 0  # nothing loaded


def test_bad_plan_rows_are_rejected_with_reasons(db, tmp_path):
    indicators = write(
        tmp_path / "indicateurs.csv",
        "action;indicateur;unite;valeur_initiale;cible;realise;date_mesure\n"
        + "".join(f"1.1;Indicateur {i};u;0;10;{i};2025-06-30\n" for i in range(3))
        + "1.1;Sans cible;u;0;;;\n"  # 5
        + "1.1;Cible texte;u;0;beaucoup;;\n"  # 6
        + "1.1;Immobile;u;5;5;;\n"  # 7
        + "1.1;Date;u;0;10;3;hier\n",
    )  # 8
    events = write(
        tmp_path / "evenements.csv",
        "evenement;intitule;type;date;niveau;territoire;nombre;axe\n"
        "E1;Forum;Forum;2025-06;region;76;1;1\n"
        "E2;Atelier;Atelier;2025-06;departement;99;1;1\n"  # 3
        "E3;Atelier;Atelier;2025-06;quartier;34;1;1\n"  # 4
        "E4;Atelier;Atelier;2025-06;departement;34;0;1\n"  # 5
        "E5;Atelier;Atelier;;departement;34;1;1\n",
    )  # 6
    ingest(
        [TEMPLATES / "plan_axes.csv", TEMPLATES / "plan_actions.csv", indicators, events],
        db_path=db,
        max_reject_rate=1.0,
    )
    rejects = query(
        db, 'SELECT file, line, "column", value, reason FROM rejects ORDER BY file, line'
    )
    got = [(r.file.rsplit("/", 1)[-1], r.line, r.column, r.reason) for r in rejects.itertuples()]
    assert got == [
        (
            "evenements.csv",
            3,
            "territoire",
            "territoire inconnu au niveau departement (code officiel attendu)",
        ),
        ("evenements.csv", 4, "niveau", "niveau inconnu (region, departement, epci ou commune)"),
        (
            "evenements.csv",
            5,
            "nombre",
            "nombre d'événements invalide (entier supérieur ou égal à 1)",
        ),
        ("evenements.csv", 6, "date", "valeur obligatoire manquante"),
        ("indicateurs.csv", 5, "cible", "valeur obligatoire manquante"),
        ("indicateurs.csv", 6, "cible", "valeur non numérique"),
        (
            "indicateurs.csv",
            7,
            "cible",
            "cible égale à la valeur initiale : l'avancement ne peut pas se mesurer",
        ),
        ("indicateurs.csv", 8, "date_mesure", f"date invalide ({plan.DATE_HELP})"),
    ]


def test_a_new_measure_is_kept_and_progress_uses_the_latest(db, tmp_path):
    ingest([TEMPLATES / f"plan_{n}.csv" for n in ("axes", "actions", "indicateurs")], db_path=db)
    later = write(
        tmp_path / "mesure.csv",
        "action;indicateur;unite;valeur_initiale;cible;realise;date_mesure\n"
        "1.1;Événements du Mois de l'ESS;événements;0;200;210;2026-11-30\n",
    )
    ingest([later], db_path=db)
    measures = query(
        db, "SELECT achieved FROM plan_indicators WHERE action_code = '1.1' ORDER BY measured_on"
    )
    assert measures["achieved"].tolist() == [150.0, 210.0]
    progress = query(
        db, "SELECT progress_pct FROM plan_indicator_progress WHERE action_code = '1.1'"
    )
    assert progress["progress_pct"].tolist() == [105.0]
