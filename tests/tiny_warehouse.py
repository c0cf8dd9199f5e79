"""A tiny warehouse written in the test: five communes, two départements, two years.

Facts are written by hand; the aggregates come from the real marts SQL
(``observatory/sql/marts/03_aggregates.sql``), so the indicators run on the same tables as
in production and are checked against plain pandas on the facts below.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from observatory.domains import DOMAINS
from observatory.size_classes import SIZE_CLASSES
from observatory.warehouse.sql import SQL_DIR

# commune, year, family, naf, establishments, employees, fte, wages, top employees/fte/wages
FACTS = [
    ("34001", 2016, "ASSO", "88.10A", 10, 200, 180.0, 6_000_000, 40, 36.0, 1_200_000),
    ("34001", 2016, "COOP", "94.99Z", 5, 50, 45.0, 1_500_000, 20, 18.0, 600_000),
    ("34002", 2016, "ASSO", "88.10A", 4, 40, 36.0, 1_200_000, 15, 13.0, 450_000),
    ("34003", 2016, "ASSO", "94.99Z", 1, 30, 27.0, 900_000, 30, 27.0, 900_000),
    ("48001", 2016, "ASSO", "88.10A", 6, 60, 54.0, 1_800_000, 55, 50.0, 1_650_000),
    ("48002", 2016, "COOP", "94.99Z", 3, 12, 10.0, 360_000, 4, 3.6, 120_000),
    ("34001", 2015, "ASSO", "88.10A", 10, 180, 162.0, 5_400_000, 40, 36.0, 1_200_000),
    ("34001", 2015, "COOP", "94.99Z", 5, 50, 45.0, 1_500_000, 20, 18.0, 600_000),
    ("34002", 2015, "ASSO", "88.10A", 4, 40, 36.0, 1_200_000, 15, 13.0, 450_000),
    ("34003", 2015, "ASSO", "94.99Z", 1, 30, 27.0, 900_000, 30, 27.0, 900_000),
    ("48001", 2015, "ASSO", "88.10A", 6, 50, 45.0, 1_500_000, 45, 40.0, 1_350_000),
    ("48002", 2015, "COOP", "94.99Z", 3, 10, 9.0, 300_000, 4, 3.6, 120_000),
]
# The same establishments by size class (postes au 31/12: 0-9, 10-49, 50-249, 250+): commune,
# year, class, establishments, employees, fte, wages, top employees/fte/wages. Each commune and
# year counts the establishments of FACTS.
SIZE_FACTS = [
    ("34001", 2016, "0-9", 6, 30, 27.0, 900_000, 8, 7.2, 240_000),
    ("34001", 2016, "10-49", 9, 220, 198.0, 6_600_000, 40, 36.0, 1_200_000),
    ("34002", 2016, "0-9", 2, 10, 9.0, 300_000, 6, 5.4, 180_000),
    ("34002", 2016, "10-49", 2, 30, 27.0, 900_000, 15, 13.0, 450_000),
    ("34003", 2016, "10-49", 1, 30, 27.0, 900_000, 30, 27.0, 900_000),
    ("48001", 2016, "0-9", 5, 5, 4.0, 150_000, 1, 1.0, 30_000),
    ("48001", 2016, "50-249", 1, 55, 50.0, 1_650_000, 55, 50.0, 1_650_000),
    ("48002", 2016, "0-9", 3, 12, 10.0, 360_000, 4, 3.6, 120_000),
    ("34001", 2015, "0-9", 6, 30, 27.0, 900_000, 8, 7.2, 240_000),
    ("34001", 2015, "10-49", 9, 200, 180.0, 6_000_000, 40, 36.0, 1_200_000),
    ("34002", 2015, "0-9", 2, 10, 9.0, 300_000, 6, 5.4, 180_000),
    ("34002", 2015, "10-49", 2, 30, 27.0, 900_000, 15, 13.0, 450_000),
    ("34003", 2015, "10-49", 1, 30, 27.0, 900_000, 30, 27.0, 900_000),
    ("48001", 2015, "0-9", 5, 5, 4.0, 150_000, 1, 1.0, 30_000),
    ("48001", 2015, "10-49", 1, 45, 41.0, 1_350_000, 45, 40.0, 1_350_000),
    ("48002", 2015, "0-9", 3, 10, 9.0, 300_000, 4, 3.6, 120_000),
]
FACT_COLUMNS = [
    "commune_code",
    "year",
    "family_code",
    "naf_code",
    "establishments",
    "employees",
    "fte",
    "gross_wages",
    "top_employees",
    "top_fte",
    "top_wages",
]

# level, code, name, region, département, EPCI, EPCI type, population
TERRITORIES = [
    ("france", "FR", "France", None, None, None, None, 13_500),
    ("region", "76", "Occitanie", "76", None, None, None, 13_500),
    ("departement", "34", "Hérault", "76", "34", None, None, 13_000),
    ("departement", "48", "Lozère", "76", "48", None, None, None),
    (
        "epci",
        "200000001",
        "Montpellier Méditerranée Métropole",
        "76",
        "34",
        "200000001",
        "ME",
        12_000,
    ),
    ("epci", "200000002", "CC du Lodévois", "76", "34", "200000002", "CC", 1_000),
    ("epci", "200000003", "CC Cœur de Lozère", "76", "48", "200000003", "CC", None),
    ("commune", "34001", "Montpellier", "76", "34", "200000001", "ME", 10_000),
    ("commune", "34002", "Castelnau", "76", "34", "200000001", "ME", 2_000),
    ("commune", "34003", "Lodève", "76", "34", "200000002", "CC", 1_000),
    ("commune", "48001", "Mende", "76", "48", "200000003", "CC", 500),
    ("commune", "48002", "Badaroux", "76", "48", "200000003", "CC", None),
]
SECTORS = [
    (
        "88.10A",
        "Aide à domicile",
        "88.10",
        "88.1",
        "88",
        "Action sociale sans hébergement",
        "QB",
        "Hébergement médico-social et action sociale",
        "Q",
        "Santé humaine et action sociale",
        "action_sociale",
    ),
    (
        "94.99Z",
        "Autres organisations",
        "94.99",
        "94.9",
        "94",
        "Activités des organisations associatives",
        "RU",
        "Autres activités de services",
        "S",
        "Autres activités de services",
        "non_classes",
    ),
]
# Every commune and year: 10 private non-ESS establishments with 100 employees and 2 public
# ones with 50 employees, all in division 88.
PRIVATE, PUBLIC = 100, 50


def facts() -> pd.DataFrame:
    return pd.DataFrame(FACTS, columns=FACT_COLUMNS)


def size_facts() -> pd.DataFrame:
    return pd.DataFrame(
        SIZE_FACTS, columns=["commune_code", "year", "size_class", *FACT_COLUMNS[4:]]
    )


def territories() -> pd.DataFrame:
    return pd.DataFrame(
        TERRITORIES,
        columns=[
            "level",
            "code",
            "name",
            "region_code",
            "departement_code",
            "epci_code",
            "epci_type",
            "population",
        ],
    )


def build_tiny(path: Path, sizes: bool = True) -> Path:
    """Write the tiny warehouse at ``path`` (``sizes``: with establishments by size class) and
    return it."""
    con = duckdb.connect(str(path))
    terr = territories()
    communes = terr[terr["level"] == "commune"]
    members = [("commune", c, c) for c in communes["code"]]
    members += [("epci", e, c) for c, e in zip(communes["code"], communes["epci_code"])]
    members += [
        ("departement", d, c) for c, d in zip(communes["code"], communes["departement_code"])
    ]
    members += [("region", "76", c) for c in communes["code"]]
    members += [("france", "FR", c) for c in communes["code"]]
    fact_rows = facts().assign(source="test")
    totals = pd.DataFrame(
        [
            dict(
                commune_code=c,
                year=y,
                a88_code="88",
                private_non_ess_establishments=10,
                private_non_ess_employees=PRIVATE,
                private_non_ess_fte=90.0,
                private_non_ess_wages=3_000_000,
                public_establishments=2,
                public_employees=PUBLIC,
                public_fte=45.0,
                public_wages=1_500_000,
                source="test",
            )
            for c in communes["code"]
            for y in (2015, 2016)
        ]
    )
    frames = dict(
        raw_territories=terr,
        raw_members=pd.DataFrame(members, columns=["level", "code", "commune_code"]),
        raw_sectors=pd.DataFrame(
            SECTORS,
            columns=[
                "naf_code",
                "naf_label",
                "class_code",
                "group_code",
                "a88_code",
                "a88_label",
                "a38_code",
                "a38_label",
                "a21_code",
                "a21_label",
                "domain_code",
            ],
        ),
        raw_domains=pd.DataFrame(
            [(code, label, naf, i + 1) for i, (code, label, naf) in enumerate(DOMAINS)],
            columns=["domain_code", "label", "naf_codes", "sort_order"],
        ),
        raw_facts=fact_rows,
        raw_totals=totals,
        raw_size_facts=size_facts().assign(source="test").iloc[: len(SIZE_FACTS) if sizes else 0],
        raw_size_classes=pd.DataFrame(
            [(code, label, low, i + 1) for i, (code, label, low) in enumerate(SIZE_CLASSES)],
            columns=["size_class", "label", "min_employees", "sort_order"],
        ),
    )
    for name, frame in frames.items():
        con.register(name, frame)
    con.execute("""
        CREATE TABLE territories AS SELECT level, code, name, region_code, departement_code,
            epci_code, epci_type, population::BIGINT AS population FROM raw_territories;
        CREATE TABLE territory_communes AS SELECT * FROM raw_members;
        CREATE TABLE sectors AS SELECT * FROM raw_sectors;
        CREATE TABLE domains AS SELECT * FROM raw_domains;
        CREATE TABLE families AS SELECT * FROM (VALUES
            ('ASSO', 'Associations', 'Associations', 1), ('COOP', 'Coopératives', 'Coopératives', 2),
            ('MUT', 'Mutuelles', 'Mutuelles', 3), ('FOND', 'Fondations', 'Fondations', 4),
            ('AUTRE', 'Autres organismes privés non lucratifs', 'Autres', 5),
            ('SCESS', 'Sociétés commerciales de l''ESS', 'Sociétés commerciales', 6))
            AS f(family_code, label, short_label, sort_order);
        CREATE TABLE size_classes AS SELECT * FROM raw_size_classes;
        CREATE TABLE ess_size_facts AS SELECT commune_code, year::SMALLINT AS year, size_class,
            establishments::INTEGER AS establishments, employees::INTEGER AS employees,
            fte, gross_wages::BIGINT AS gross_wages, top_employees::INTEGER AS top_employees,
            top_fte, top_wages::BIGINT AS top_wages, source FROM raw_size_facts;
        CREATE TABLE years AS SELECT * FROM (VALUES (2015, 'CLAP'), (2016, 'Flores'))
            AS y(year, series);
        CREATE TABLE ess_facts AS SELECT commune_code, year::SMALLINT AS year, family_code,
            naf_code, establishments::INTEGER AS establishments, employees::INTEGER AS employees,
            fte, gross_wages::BIGINT AS gross_wages, top_employees::INTEGER AS top_employees,
            top_fte, top_wages::BIGINT AS top_wages, source FROM raw_facts;
        CREATE TABLE employment_totals AS SELECT * REPLACE (year::SMALLINT AS year) FROM raw_totals;
        CREATE TABLE sources AS SELECT 'test' AS source, true AS synthetic;
    """)
    for script in ("03_aggregates.sql", "04_key_figures.sql"):
        con.execute((SQL_DIR / "marts" / script).read_text(encoding="utf-8"))
    con.execute("CHECKPOINT")
    con.close()
    return path
