"""Deterministic demo dataset for all of France, calibrated on published figures.

The generator draws individual ESS employer establishments (commune, family, NAF sous-classe,
size, opening and closing years), then aggregates them to commune × year × family × sector
cells, keeping what the secrecy rules need (number of establishments, largest establishment).
It also draws the salaried employment outside the ESS (private and public) by commune, year and
A88 division, so that ESS shares can be computed at every level.

Calibration (base year 2014, INSEE, Clap, "Indicateurs territoriaux de développement durable"):
- the ESS share of salaried employment of every département and région is the published one
  (Mayotte is not published: an assumed 7 % is used);
- France (excluding Mayotte) 10.5 %, about 2.6 million ESS employees in about 210,000 employer
  establishments (associations 2.0 million, coopératives 320,000, mutuelles 137,000,
  fondations 108,000 employees);
- Occitanie 214,000 ESS employees in 23,000 establishments (12.1 %).
Every figure produced here is synthetic and is labelled « Données de démonstration ».
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from observatory.size_classes import size_class_of

SEED = 20141231
BASE_YEAR = 2014
YEARS = tuple(range(2014, 2023))

NATIONAL_ESS_EMPLOYEES = 2_600_000
NATIONAL_ESS_SHARE_PCT = 10.5
NATIONAL_ESS_ESTABLISHMENTS = 210_000
PINNED_REGION = "76"  # Occitanie: employees and establishments are published too.
PINNED_REGION_ESS_EMPLOYEES = 214_000
PINNED_REGION_ESS_ESTABLISHMENTS = 23_000

# Calibration tables (published figures, by hand), read once from demo.toml.
CALIBRATION = tomllib.loads((Path(__file__).parent / "demo.toml").read_text("utf-8"))
# ESS share of salaried employment in 2014 (%), by région and by département.
REGION_SHARE_2014: dict[str, float] = CALIBRATION["region_share_2014"]
DEPARTEMENT_SHARE_2014: dict[str, float] = CALIBRATION["departement_share_2014"]
# Per family: employees, employer establishments, FTE per employee, wage per FTE (2014).
FAMILY_PROFILE: dict[str, dict] = CALIBRATION["family_profile"]
# Per family: NAF sous-classe -> (weight among its establishments, relative establishment size).
FAMILY_SECTORS: dict[str, dict[str, tuple[float, float]]] = {
    family: {naf: tuple(pair) for naf, pair in sectors.items()}
    for family, sectors in CALIBRATION["family_sectors"].items()
}
# Salaried employment outside the ESS by A88 division (thousands); other divisions get
# DEFAULT_DIVISION_WEIGHT.
PRIVATE_NON_ESS_BY_A88: dict[str, float] = CALIBRATION["private_non_ess_by_a88"]
PUBLIC_BY_A88: dict[str, float] = CALIBRATION["public_by_a88"]
DEFAULT_DIVISION_WEIGHT = 15
PRIVATE_AVG_ESTABLISHMENT_SIZE = 8.0
PUBLIC_AVG_ESTABLISHMENT_SIZE = 20.0
NON_ESS_FTE_RATIO = {"private": 0.90, "public": 0.92}
NON_ESS_WAGE_PER_FTE = {"private": 38_000, "public": 35_000}

WAGE_GROWTH = 0.015
NON_ESS_GROWTH = 0.008
CLOSURE_RATE = 0.04
OPENING_RATE = 0.05


@dataclass(frozen=True)
class DemoData:
    """The generated tables: ESS cells, ESS establishments by size class and employment
    outside the ESS."""

    ess_facts: pd.DataFrame
    ess_size_facts: pd.DataFrame
    employment_totals: pd.DataFrame
    fingerprint: str


def _solve_tilt(weights: np.ndarray, shares: np.ndarray, target_share: float) -> np.ndarray:
    """Normalised allocation w·exp(λ·s) whose share-weighted mean equals ``target_share``."""
    low, high = -5.0, 5.0
    z = (shares - shares.mean()) / max(shares.std(), 1e-9)
    for _ in range(200):
        lam = (low + high) / 2
        alloc = weights * np.exp(lam * z)
        alloc = alloc / alloc.sum()
        if (alloc * shares).sum() < target_share:
            low = lam
        else:
            high = lam
    return alloc


def _departement_targets(communes: pd.DataFrame) -> pd.DataFrame:
    """Total and ESS salaried employment of every département in the base year."""
    weight = (communes["population"].astype(float) + 1) ** 1.15
    dep = (
        communes.assign(weight=weight)
        .groupby(["region_code", "departement_code"], as_index=False)["weight"]
        .sum()
    )
    dep["share"] = dep["departement_code"].map(DEPARTEMENT_SHARE_2014) / 100
    reg = dep.groupby("region_code", as_index=False)["weight"].sum()
    reg["share"] = reg["region_code"].map(REGION_SHARE_2014) / 100

    national_total = NATIONAL_ESS_EMPLOYEES / (NATIONAL_ESS_SHARE_PCT / 100)
    pinned = reg["region_code"] == PINNED_REGION
    pinned_total = PINNED_REGION_ESS_EMPLOYEES / reg.loc[pinned, "share"].iloc[0]
    others = reg[~pinned]
    others_total = national_total - pinned_total
    reg["total"] = pinned_total
    if len(others):
        others_target = (NATIONAL_ESS_EMPLOYEES - PINNED_REGION_ESS_EMPLOYEES) / others_total
        alloc = _solve_tilt(others["weight"].to_numpy(), others["share"].to_numpy(), others_target)
        reg.loc[~pinned, "total"] = alloc * others_total

    parts = []
    for region in reg.itertuples():
        d = dep[dep["region_code"] == region.region_code].copy()
        if len(d) == 1:
            d["total"] = region.total
        else:
            tilt = _solve_tilt(d["weight"].to_numpy(), d["share"].to_numpy(), region.share)
            d["total"] = tilt * region.total
        parts.append(d)
    dep = pd.concat(parts, ignore_index=True)
    dep["ess"] = dep["total"] * dep["share"]
    return dep


def _sectors_table() -> pd.DataFrame:
    rows = []
    for family, sectors in FAMILY_SECTORS.items():
        weights = np.array([w for w, _ in sectors.values()], dtype=float)
        for (naf, (_, size)), p in zip(sectors.items(), weights / weights.sum()):
            rows.append((family, naf, p, size))
    return pd.DataFrame(rows, columns=["family_code", "naf_code", "p", "size_factor"])


def _draw_establishments(
    rng: np.random.Generator, communes: pd.DataFrame, dep: pd.DataFrame
) -> pd.DataFrame:
    """Every ESS employer establishment ever open over the demo years, with its base size."""
    national_other = (NATIONAL_ESS_EMPLOYEES - PINNED_REGION_ESS_EMPLOYEES) / (
        NATIONAL_ESS_ESTABLISHMENTS - PINNED_REGION_ESS_ESTABLISHMENTS
    )
    pinned_size = PINNED_REGION_ESS_EMPLOYEES / PINNED_REGION_ESS_ESTABLISHMENTS
    avg_size = np.where(dep["region_code"] == PINNED_REGION, pinned_size, national_other)
    base_counts = np.rint(dep["ess"].to_numpy() / avg_size).astype(int)
    n_years = len(YEARS) - 1
    births = rng.binomial(base_counts[:, None], OPENING_RATE, size=(len(dep), n_years))

    family_codes = list(FAMILY_PROFILE)
    family_p = np.array([FAMILY_PROFILE[f]["establishments"] for f in family_codes], float)
    family_p /= family_p.sum()
    sectors = _sectors_table()

    frames = []
    for i, d in enumerate(dep.itertuples()):
        comm = communes[communes["departement_code"] == d.departement_code]
        w = (comm["population"].to_numpy(float) + 1) ** 0.97
        cohort_sizes = np.concatenate([[base_counts[i]], births[i]])
        n = int(cohort_sizes.sum())
        frames.append(
            pd.DataFrame(
                {
                    "departement_code": d.departement_code,
                    "commune_code": rng.choice(comm["code"].to_numpy(), size=n, p=w / w.sum()),
                    "start_year": np.repeat(YEARS, cohort_sizes),
                }
            )
        )
    est = pd.concat(frames, ignore_index=True)
    est["commune_population"] = est["commune_code"].map(communes.set_index("code")["population"])
    est["family_code"] = np.array(family_codes)[rng.choice(len(family_codes), len(est), p=family_p)]

    est["naf_code"] = ""
    est["size_factor"] = 1.0
    for family, group in sectors.groupby("family_code"):
        idx = np.flatnonzero(est["family_code"].to_numpy() == family)
        pick = rng.choice(len(group), size=len(idx), p=group["p"].to_numpy())
        est.loc[idx, "naf_code"] = group["naf_code"].to_numpy()[pick]
        est.loc[idx, "size_factor"] = group["size_factor"].to_numpy()[pick]

    family_mean = est["family_code"].map(
        {f: p["employees"] / p["establishments"] for f, p in FAMILY_PROFILE.items()}
    )
    urban = np.clip((est["commune_population"].to_numpy(float) + 1) / 10_000, 0.05, 50) ** 0.15
    young = np.where(est["start_year"] > BASE_YEAR, 0.75, 1.0)
    sigma = 1.1
    est["size"] = (
        family_mean
        * est["size_factor"]
        * urban
        * young
        * rng.lognormal(-(sigma**2) / 2, sigma, len(est))
    )
    lifetime = rng.geometric(CLOSURE_RATE, len(est))
    est["end_year"] = est["start_year"] + lifetime  # first year the establishment is closed
    est["growth"] = rng.normal(0.004, 0.02, len(est))
    est["fte_ratio"] = est["family_code"].map({f: p["fte"] for f, p in FAMILY_PROFILE.items()})
    est["fte_ratio"] *= rng.uniform(0.9, 1.08, len(est))
    est["wage_level"] = rng.lognormal(0, 0.1, len(est))
    return est.drop(columns=["size_factor"])


def _rake_sizes(est: pd.DataFrame, dep: pd.DataFrame) -> None:
    """Scale sizes so base-year totals match département and national family targets."""
    base = (est["start_year"] == BASE_YEAR).to_numpy()
    dep_target = dep.set_index("departement_code")["ess"]
    fam_target = pd.Series({f: p["employees"] for f, p in FAMILY_PROFILE.items()})
    fam_target *= dep_target.sum() / fam_target.sum()
    # Integer codes once: mapping the string columns at each of the 30 rounds was most of it.
    dep_codes, dep_names = pd.factorize(est["departement_code"], sort=True)
    fam_codes, fam_names = pd.factorize(est["family_code"], sort=True)
    dep_target = dep_target.reindex(dep_names).to_numpy()
    fam_target = fam_target.reindex(fam_names).to_numpy()
    size = est["size"].to_numpy().copy()
    for _ in range(30):
        size *= (dep_target / _sums(size[base], dep_codes[base], len(dep_names)))[dep_codes]
        size *= (fam_target / _sums(size[base], fam_codes[base], len(fam_names)))[fam_codes]
    est["size"] = size


def _sums(values: np.ndarray, codes: np.ndarray, n: int) -> np.ndarray:
    """Sum of ``values`` by integer code (pandas' compensated sum; NaN for a code absent)."""
    return pd.Series(values).groupby(codes).sum().reindex(range(n)).to_numpy()


def _ess_facts(est: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Aggregate establishment-years to commune × year × family × NAF cells, and to
    commune × year × size class cells."""
    parts = []
    for year in YEARS:
        alive = est[(est["start_year"] <= year) & (est["end_year"] > year)]
        age = year - alive["start_year"].to_numpy()
        employees = np.maximum(1, np.rint(alive["size"] * np.exp(alive["growth"] * age)))
        fte = np.minimum(employees, np.round(employees * alive["fte_ratio"], 1))
        wage = alive["family_code"].map({f: p["wage"] for f, p in FAMILY_PROFILE.items()})
        wages = np.rint(fte * wage * alive["wage_level"] * (1 + WAGE_GROWTH) ** (year - BASE_YEAR))
        parts.append(
            pd.DataFrame(
                {
                    "commune_code": alive["commune_code"].to_numpy(),
                    "year": year,
                    "family_code": alive["family_code"].to_numpy(),
                    "naf_code": alive["naf_code"].to_numpy(),
                    "employees": employees.astype("int64"),
                    "fte": fte.to_numpy(),
                    "gross_wages": wages.to_numpy().astype("int64"),
                }
            )
        )
    years = pd.concat(parts, ignore_index=True)
    years["size_class"] = size_class_of(years["employees"])
    cells = []
    for keys in (
        ["commune_code", "year", "family_code", "naf_code"],
        ["commune_code", "year", "size_class"],
    ):
        facts = years.groupby(keys, as_index=False, sort=True).agg(
            establishments=("employees", "size"),
            employees=("employees", "sum"),
            fte=("fte", "sum"),
            gross_wages=("gross_wages", "sum"),
            top_employees=("employees", "max"),
            top_fte=("fte", "max"),
            top_wages=("gross_wages", "max"),
        )
        facts["fte"] = facts["fte"].round(1)
        facts["top_fte"] = facts["top_fte"].round(1)
        cells.append(facts)
    return cells[0], cells[1]


def _division_profile(
    weights: dict[str, float], divisions: list[str], default: float
) -> np.ndarray:
    p = np.array([weights.get(d, default) for d in divisions], dtype=float)
    return p / p.sum()


def _employment_totals(
    rng: np.random.Generator,
    communes: pd.DataFrame,
    dep: pd.DataFrame,
    divisions: list[str],
) -> pd.DataFrame:
    """Salaried employment outside the ESS by commune, year and A88 division."""
    non_ess_dep = dep.set_index("departement_code").eval("total - ess")
    weight = (communes["population"].to_numpy(float) + 1) ** 1.15
    dep_weight = pd.Series(weight).groupby(communes["departement_code"].to_numpy()).transform("sum")
    base = weight / dep_weight.to_numpy() * communes["departement_code"].map(non_ess_dep).to_numpy()
    growth = rng.normal(NON_ESS_GROWTH, 0.01, len(communes))
    public_rate = np.clip(rng.normal(0.22, 0.06, len(communes)), 0.05, 0.6)
    profiles = {
        "private": _division_profile(PRIVATE_NON_ESS_BY_A88, divisions, DEFAULT_DIVISION_WEIGHT),
        "public": _division_profile(PUBLIC_BY_A88, divisions, 0),
    }
    sizes = {"private": PRIVATE_AVG_ESTABLISHMENT_SIZE, "public": PUBLIC_AVG_ESTABLISHMENT_SIZE}
    parts: dict[str, list[np.ndarray]] = {}  # column → one array per year, joined at the end
    for year in YEARS:
        t = year - BASE_YEAR
        level = np.rint(base * (1 + growth) ** t).astype(np.int64)
        counts = {"public": np.rint(level * public_rate).astype(np.int64)}
        counts["private"] = level - counts["public"]
        frame = {}
        for sector_kind in ("private", "public"):
            emp = rng.multinomial(counts[sector_kind], profiles[sector_kind])
            fte = np.round(emp * NON_ESS_FTE_RATIO[sector_kind], 1)
            wage = NON_ESS_WAGE_PER_FTE[sector_kind] * (1 + WAGE_GROWTH) ** t
            prefix = "private_non_ess" if sector_kind == "private" else "public"
            frame[f"{prefix}_establishments"] = np.ceil(emp / sizes[sector_kind]).astype(np.int32)
            frame[f"{prefix}_employees"] = emp.astype(np.int32)
            frame[f"{prefix}_fte"] = fte.astype(np.float32)
            frame[f"{prefix}_wages"] = np.rint(fte * wage).astype(np.int64)
        keep = (frame["private_non_ess_employees"] + frame["public_employees"]) > 0
        rows, cols = np.nonzero(keep)
        columns = {
            "commune_code": rows.astype(np.int32),  # the categories' codes, as pandas keeps them
            "year": np.full(len(rows), year, np.int64),
            "a88_code": cols.astype(np.int8),
            **{name: values[rows, cols] for name, values in frame.items()},
        }
        for name, values in columns.items():
            parts.setdefault(name, []).append(values)
    # One column at a time, each year's pieces freed once joined; the frame takes the joined
    # arrays as they are (no copy): the peak is one copy of the table and one column.
    joined = {name: np.concatenate(parts.pop(name)) for name in list(parts)}
    joined["commune_code"] = pd.Categorical.from_codes(joined["commune_code"], communes["code"])
    joined["a88_code"] = pd.Categorical.from_codes(joined["a88_code"], divisions)
    return pd.DataFrame(joined, copy=False)


def generate(communes: pd.DataFrame, naf: pd.DataFrame, seed: int = SEED) -> DemoData:
    """Generate the demo tables for the given communes (code, departement_code, region_code,
    population) and NAF nomenclature (naf_code, a88_code). Same inputs and seed, same output."""
    rng = np.random.default_rng(seed)
    communes = communes.sort_values("code").reset_index(drop=True)
    communes["population"] = communes["population"].fillna(0).astype("int64")
    dep = _departement_targets(communes)
    est = _draw_establishments(rng, communes, dep)
    _rake_sizes(est, dep)
    facts, size_facts = _ess_facts(est)
    divisions = sorted(naf["a88_code"].unique())
    totals = _employment_totals(rng, communes, dep, divisions)
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update((Path(__file__).parent / "demo.toml").read_bytes())
    digest.update(str(seed).encode())
    return DemoData(
        ess_facts=facts,
        ess_size_facts=size_facts,
        employment_totals=totals,
        fingerprint=digest.hexdigest(),
    )
