"""Portraits: every Occitanie département on the demo data, and the command as a user runs it."""

import io
import json

import pandas as pd
import pytest
from conftest import run_cli

from observatory import indicators
from observatory.publish import portrait

OCCITANIE = ["09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82"]


@pytest.mark.parametrize("code", OCCITANIE)
def test_portrait_of_every_occitanie_departement(wh, code):
    frame = portrait.portrait(wh, code, year=2022)
    assert set(frame["indicator"]) == set(indicators.REGISTRY)
    assert frame.attrs["secrecy"] is True
    key = wh.key_figures("departement", code, 2022).iloc[0]
    employees = frame[frame["indicator"] == "ess_employees"].iloc[0]
    assert employees["value"] == key["ess_employees"]
    assert employees["display"] == indicators.display(float(key["ess_employees"]), "number")
    share = frame[frame["indicator"] == "ess_share_employees"]["value"].iloc[0]
    assert share == pytest.approx(key["ess_share_pct"])
    assert (frame.loc[frame["secret"], "display"] == "s").all()
    assert frame.loc[frame["secret"], "value"].isna().all()
    assert frame["source"].str.startswith("Données de démonstration").all()


def test_region_and_departement_76_are_told_apart(wh):
    assert portrait.portrait(wh, "76", level="region")["name"].iloc[0] == "Occitanie"
    assert portrait.portrait(wh, "76")["name"].iloc[0] == "Seine-Maritime"
    assert portrait.portrait(wh, None, level="france")["code"].iloc[0] == "FR"


@pytest.mark.parametrize(
    "code, name",
    [
        ("17300", "La Rochelle"),
        ("76351", "Le Havre"),
        ("43157", "Le Puy-en-Velay"),
        ("48034", "La Canourgue"),
    ],
)
def test_commune_portraits_name_the_commune_with_its_article(wh, code, name):
    frame = portrait.portrait(wh, code, year=2022)
    assert set(frame["name"]) == {name}
    assert portrait.to_json(frame)["territoire"] == f"{name} (commune {code})"


def test_a_territory_is_also_found_by_its_name(wh):
    assert portrait.portrait(wh, "Le Havre")["code"].iloc[0] == "76351"
    assert portrait.portrait(wh, "canourgue")["code"].iloc[0] == "48034"
    assert portrait.portrait(wh, "HERAULT")["code"].iloc[0] == "34"
    with pytest.raises(indicators.TerritoryError, match=r"désigne 2 territoires.*17300.*70450"):
        portrait.portrait(wh, "La Rochelle")


def secret_commune(wh) -> str:
    """A commune of Lozère whose ESS employees are masked in 2022."""
    for code in wh.territories("commune", departement="48")["code"]:
        frame = indicators.compute(wh, "commune", code, 2022, themes=["key_figures"])
        if frame[frame["indicator"] == "ess_employees"]["secret"].iloc[0]:
            return code
    raise AssertionError("no secret commune in Lozère")


def test_cli_json_on_stdout_shows_masked_cells_as_s(warehouse_path, wh):
    code = secret_commune(wh)
    result = run_cli("portrait", code, "--year", "2022", "--db", str(warehouse_path))
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["code"] == code and document["annee"] == 2022
    assert document["avertissement"] == "Données de démonstration"
    rows = {r["indicateur"]: r for r in document["indicateurs"] if r["categorie"] is None}
    assert rows["ess_employees"]["valeur"] == "s" and rows["ess_employees"]["affichage"] == "s"
    assert rows["ess_share_employees"]["valeur"] == "s"


def test_cli_writes_csv_and_xlsx_read_back(warehouse_path, wh, tmp_path):
    expected = wh.key_figures("departement", "34", 2022).iloc[0]
    for name in ("herault.csv", "herault.xlsx"):
        target = tmp_path / name
        result = run_cli("portrait", "34", "--output", str(target), "--db", str(warehouse_path))
        assert result.returncode == 0, result.stderr
        assert "Portrait écrit" in result.stderr
        frame = portrait.read_table(target)
        row = frame[frame["indicateur"] == "ess_employees"].iloc[0]
        assert float(row["valeur"]) == expected["ess_employees"]
        assert row["code"] == "34" and row["territoire"] == "Hérault"
        assert set(frame["indicateur"]) == set(indicators.REGISTRY)
        assert (frame.loc[frame["secret"], "valeur"].astype(str) == "s").all()
    definitions = pd.read_excel(tmp_path / "herault.xlsx", sheet_name="Définitions")
    assert len(definitions) == len(indicators.REGISTRY)


def test_cli_json_file_with_reference(warehouse_path, tmp_path):
    target = tmp_path / "occitanie.json"
    result = run_cli(
        "portrait",
        "76",
        "--level",
        "region",
        "--reference",
        "FR",
        "--output",
        str(target),
        "--db",
        str(warehouse_path),
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(target.read_text(encoding="utf-8"))
    assert document["territoire"] == "Occitanie (région 76)"
    reference = [r for r in document["indicateurs"] if r["indicateur"] == "reference_ess_employees"]
    assert reference[0]["categorie"] == "FR"


@pytest.mark.parametrize(
    "args, message",
    [
        (["99"], "Erreur : département « 99 » introuvable dans l'entrepôt"),
        (
            ["34", "--year", "2030"],
            "Erreur : année 2030 non disponible dans l'entrepôt (2014 à 2022)",
        ),
        (["1234"], "Erreur : code de territoire « 1234 » non reconnu"),
        (
            ["34", "--output", "portrait.txt"],
            "Erreur : format de sortie « .txt » non pris en charge",
        ),
        (["34", "--reference", "region:99"], "Erreur : région « 99 » introuvable"),
    ],
)
def test_cli_errors_are_one_line(warehouse_path, args, message):
    result = run_cli("portrait", *args, "--db", str(warehouse_path))
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message)


def test_portrait_writes_json_to_a_stream(wh):
    frame = portrait.portrait(wh, "48", year=2015)
    buffer = io.StringIO()
    portrait.write(frame, stdout=buffer)
    document = json.loads(buffer.getvalue())
    assert document["annee"] == 2015 and document["secret_statistique"] == "appliqué"
