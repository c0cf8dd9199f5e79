"""SIRENE establishments by size class: the staff band decides the class."""

from __future__ import annotations

from ingest_helpers import query, write

from observatory import indicators, open_warehouse
from observatory.ingest import ingest

# Band → class, from INSEE's band limits (not from the code under test).
BANDS = {
    "": "0-9",
    "NN": "0-9",
    "00": "0-9",
    "01": "0-9",
    "03": "0-9",
    "11": "10-49",
    "12": "10-49",
    "21": "50-249",
    "31": "50-249",
    "32": "250+",
    "53": "250+",
}


def test_each_band_lands_in_its_size_class(db, tmp_path):
    sirens = [f"{100000000 + i}" for i in range(len(BANDS))]
    units = write(
        tmp_path / "StockUniteLegale_2023.csv",
        "siren,etatAdministratifUniteLegale,categorieJuridiqueUniteLegale,"
        "economieSocialeSolidaireUniteLegale\n" + "".join(f"{s},A,9220,\n" for s in sirens),
    )
    establishments = write(
        tmp_path / "StockEtablissement_2023.csv",
        "siren,siret,etatAdministratifEtablissement,caractereEmployeurEtablissement,"
        "trancheEffectifsEtablissement,codeCommuneEtablissement,activitePrincipaleEtablissement\n"
        + "".join(f"{s},{s}00011,A,O,{band},34172,88.10A\n" for s, band in zip(sirens, BANDS)),
    )
    ingest([establishments, units], db_path=db)
    sizes = query(db, "SELECT size_class, establishments FROM ess_size_facts")
    expected = {}
    for size_class in BANDS.values():
        expected[size_class] = expected.get(size_class, 0) + 1
    assert dict(zip(sizes["size_class"], sizes["establishments"])) == expected
    facts = query(db, "SELECT sum(establishments) AS n FROM ess_facts")
    assert facts["n"][0] == len(BANDS)
    with open_warehouse(db) as wh:
        frame = indicators.compute(wh, "commune", "34172", 2023)
    published = frame[frame["indicator"] == "size_establishments"].set_index("category")
    assert published.loc["0-9", "value"] == 5  # 5 establishments: published
    assert published.loc[["10-49", "50-249", "250+"], "secret"].all()  # 2 each: masked
