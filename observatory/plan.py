"""Following a regional ESS plan: its axes, actions (lead partner, territory, status, dates,
budget), the indicators and targets of each action, and events (the Mois de l'ESS…).

Four CSV templates (``data/templates/plan_*.csv``, documented in docs/support.md) load into
``plan_axes``, ``plan_actions``, ``plan_indicators`` and ``plan_events``; a line replaces the
stored one with the same key. The demo warehouse carries an example plan with seven axes
(``data/demo/plan/``), always labelled « Données de démonstration ».

    >>> from observatory import open_warehouse, plan
    >>> plan.progress(open_warehouse())   # latest measure of each indicator against its target
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

import pandas as pd

from observatory import reference, settings
from observatory.support import clean, key, normalise_header, parse_date, parse_number

STATUSES = {
    "a_venir": "À venir",
    "en_cours": "En cours",
    "realisee": "Réalisée",
    "reportee": "Reportée",
    "abandonnee": "Abandonnée",
}
STATUS_SYNONYMS = {
    "prevue": "a_venir",
    "programmee": "a_venir",
    "non commencee": "a_venir",
    "terminee": "realisee",
    "achevee": "realisee",
    "realise": "realisee",
    "suspendue": "reportee",
    "reporte": "reportee",
    "abandonne": "abandonnee",
}
LEVELS = {"region": "région", "departement": "département", "epci": "EPCI", "commune": "commune"}
DEMO_DIR = settings.DATA_DIR / "demo" / "plan"
DATE_HELP = "formats acceptés : 2024, 2024-11, 2024-11-15, 15/11/2024"


@dataclass(frozen=True)
class Kind:
    """One of the four plan files: template columns, key, stored table and columns."""

    name: str  # French name used in messages
    file: str  # template and demo file name
    table: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    key: tuple[str, ...]  # stored key columns
    columns: tuple[str, ...]  # stored columns (without synthetic, file, line, loaded_at)


KINDS = {
    "axes": Kind(
        "axes du plan",
        "plan_axes.csv",
        "plan_axes",
        ("axe", "intitule"),
        ("description",),
        ("axis_code",),
        ("axis_code", "title", "description"),
    ),
    "actions": Kind(
        "actions du plan",
        "plan_actions.csv",
        "plan_actions",
        ("action", "axe", "intitule", "statut"),
        ("pilote", "niveau", "territoire", "date_debut", "date_fin", "budget_eur"),
        ("action_code",),
        (
            "action_code",
            "axis_code",
            "title",
            "lead_partner",
            "territory_level",
            "territory_code",
            "status",
            "start_date",
            "end_date",
            "budget_eur",
        ),
    ),
    "indicateurs": Kind(
        "indicateurs du plan",
        "plan_indicateurs.csv",
        "plan_indicators",
        ("action", "indicateur", "cible"),
        ("unite", "valeur_initiale", "realise", "date_mesure"),
        ("action_code", "indicator", "measured_on"),
        ("action_code", "indicator", "unit", "baseline", "target", "achieved", "measured_on"),
    ),
    "evenements": Kind(
        "événements",
        "plan_evenements.csv",
        "plan_events",
        ("evenement", "intitule", "date", "niveau", "territoire"),
        ("type", "nombre", "axe"),
        ("event_id",),
        (
            "event_id",
            "title",
            "event_type",
            "event_date",
            "date_precision",
            "territory_level",
            "territory_code",
            "events",
            "axis_code",
        ),
    ),
}


def kind_of(header: list[str]) -> str | None:
    """Which plan file a header belongs to (``None``: not a plan file)."""
    names = {key(name).replace(" ", "_") for name in header}
    for name in ("evenements", "indicateurs", "actions", "axes"):
        if set(KINDS[name].required) <= names:
            return name
    return None


# ---------------------------------------------------------------------------------------------
# Validation


@lru_cache(maxsize=1)
def territory_lookup() -> dict[tuple[str, str], str]:
    """(level, given code) → official code, for régions, départements, EPCI and communes (with
    arrondissements, communes déléguées or associées and lost leading zeros)."""
    from observatory.support import commune_lookup

    lookup = {("commune", given): code for given, code in commune_lookup().items()}
    for level, loader in (
        ("region", reference.regions),
        ("departement", reference.departements),
        ("epci", reference.epcis),
    ):
        for code in loader()["code"]:
            lookup[(level, code)] = code
            if code.lstrip("0") != code:
                lookup.setdefault((level, code.lstrip("0")), code)
    return lookup


def validate(kind: str, rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check the rows of one plan file (text columns named as in its template, plus ``line``).

    Returns the accepted rows (stored columns plus ``line``) and the problems (``line``,
    ``column``, ``value``, ``reason``), the first problem of each rejected row."""
    spec = KINDS[kind]
    rows = normalise_header(rows)
    for column in spec.optional:
        if column not in rows:
            rows[column] = None
    check = {"axes": _axis, "actions": _action, "indicateurs": _indicator, "evenements": _event}[
        kind
    ]
    accepted, problems, seen = [], [], {}
    for row in rows.to_dict("records"):
        values = {c: clean(row.get(c)) for c in spec.required + spec.optional}
        missing = [c for c in spec.required if values[c] is None]
        result = (missing[0], "valeur obligatoire manquante") if missing else check(values)
        if not isinstance(result, tuple):
            duplicate = seen.get(tuple(result[c] for c in spec.key))
            if duplicate:
                result = (spec.required[0], f"clé en double (déjà à la ligne {duplicate})")
        if isinstance(result, tuple):
            column, reason = result
            problems.append(
                dict(line=row["line"], column=column, value=values[column], reason=reason)
            )
        else:
            seen[tuple(result[c] for c in spec.key)] = row["line"]
            accepted.append({**result, "line": row["line"]})
    return (
        pd.DataFrame(accepted, columns=[*spec.columns, "line"]),
        pd.DataFrame(problems, columns=["line", "column", "value", "reason"]),
    )


def _date(v: dict, column: str):
    """(date, precision), or the problem, or ``None`` for an empty cell."""
    if v[column] is None:
        return None
    parsed = parse_date(v[column])
    return parsed if parsed else (column, f"date invalide ({DATE_HELP})")


def _number(v: dict, column: str, minimum: float | None = None):
    if v[column] is None:
        return None
    value = parse_number(v[column])
    if value is None:
        return column, "valeur non numérique"
    if minimum is not None and value < minimum:
        return column, "valeur négative"
    return value


def _territory(v: dict, required: bool):
    """(level, code), or the problem; (None, None) when neither is given and none required."""
    level_text, code = v["niveau"], v["territoire"]
    if level_text is None and code is None and not required:
        return None, None
    level = {key(k): k for k in LEVELS} | {key(lb): k for k, lb in LEVELS.items()}
    level = level.get(key(level_text)) if level_text else None
    if level is None:
        return "niveau", "niveau inconnu (region, departement, epci ou commune)"
    official = territory_lookup().get((level, code)) if code else None
    if official is None:
        return "territoire", f"territoire inconnu au niveau {level} (code officiel attendu)"
    return level, official


def _axis(v: dict) -> dict | tuple:
    return dict(axis_code=v["axe"], title=v["intitule"], description=v["description"])


def _action(v: dict) -> dict | tuple:
    status = {key(k): k for k in STATUSES} | {key(lb): k for k, lb in STATUSES.items()}
    status = status.get(key(v["statut"])) or STATUS_SYNONYMS.get(key(v["statut"]))
    if status is None:
        return "statut", f"statut inconnu (attendu : {', '.join(STATUSES)})"
    territory = _territory(v, required=False)
    if territory[0] in ("niveau", "territoire"):
        return territory
    start, end = _date(v, "date_debut"), _date(v, "date_fin")
    for value in (start, end):
        if value and isinstance(value[0], str):
            return value
    if start and end and end[0] < start[0]:
        return "date_fin", "date de fin antérieure à la date de début"
    budget = _number(v, "budget_eur", minimum=0)
    if isinstance(budget, tuple):
        return budget
    return dict(
        action_code=v["action"],
        axis_code=v["axe"],
        title=v["intitule"],
        lead_partner=v["pilote"],
        territory_level=territory[0],
        territory_code=territory[1],
        status=status,
        start_date=start[0] if start else None,
        end_date=end[0] if end else None,
        budget_eur=budget,
    )


def _indicator(v: dict) -> dict | tuple:
    values = {}
    for column in ("cible", "valeur_initiale", "realise"):
        values[column] = _number(v, column)
        if isinstance(values[column], tuple):
            return values[column]
    measured = _date(v, "date_mesure")
    if measured and isinstance(measured[0], str):
        return measured
    baseline = values["valeur_initiale"] or 0.0
    if values["cible"] == baseline:
        return "cible", "cible égale à la valeur initiale : l'avancement ne peut pas se mesurer"
    return dict(
        action_code=v["action"],
        indicator=v["indicateur"],
        unit=v["unite"],
        baseline=baseline,
        target=values["cible"],
        achieved=values["realise"],
        measured_on=measured[0] if measured else None,
    )


def _event(v: dict) -> dict | tuple:
    when = _date(v, "date")
    if isinstance(when[0], str):
        return when
    territory = _territory(v, required=True)
    if territory[0] in ("niveau", "territoire"):
        return territory
    count = 1
    if v["nombre"] is not None:
        if (
            not re.fullmatch(r"\d+", v["nombre"].replace(" ", ""))
            or int(v["nombre"].replace(" ", "")) < 1
        ):
            return "nombre", "nombre d'événements invalide (entier supérieur ou égal à 1)"
        count = int(v["nombre"].replace(" ", ""))
    return dict(
        event_id=v["evenement"],
        title=v["intitule"],
        event_type=v["type"] or "Événement",
        event_date=when[0],
        date_precision=when[1],
        territory_level=territory[0],
        territory_code=territory[1],
        events=count,
        axis_code=v["axe"],
    )


# ---------------------------------------------------------------------------------------------
# Storage


def store(
    con, kind: str, frame: pd.DataFrame, *, synthetic: bool, file: str, loaded_at: datetime | str
) -> None:
    """Insert rows of one plan file, replacing the stored rows with the same key."""
    spec = KINDS[kind]
    frame = frame[[*spec.columns, "line"]].assign(
        synthetic=synthetic, file=file, loaded_at=loaded_at
    )
    frame = frame.astype({"line": "Int64"})
    con.register("new_plan_rows", frame)
    match = " AND ".join(f"t.{c} IS NOT DISTINCT FROM n.{c}" for c in spec.key)
    con.execute(
        f"DELETE FROM {spec.table} AS t WHERE EXISTS "
        f"(SELECT 1 FROM new_plan_rows AS n WHERE {match})"
    )
    columns = ", ".join([*spec.columns, "synthetic", "file", "line", "loaded_at"])
    con.execute(
        f"INSERT INTO {spec.table} ({columns}) SELECT {columns} FROM new_plan_rows "
        f"ORDER BY {', '.join(spec.key)}"
    )
    con.unregister("new_plan_rows")


def seed(con, with_demo: bool) -> list[dict]:
    """At build time, with the demo data: store the example plan and return its ``sources`` row."""
    if not with_demo:
        return []
    now = datetime.now(UTC)
    digest, rows = hashlib.sha256(), 0
    for kind, spec in KINDS.items():
        path = DEMO_DIR / spec.file
        digest.update(path.read_bytes())
        raw = pd.read_csv(path, sep=";", dtype=str, keep_default_na=False)
        raw.insert(0, "line", range(2, len(raw) + 2))
        frame, problems = validate(kind, raw)
        if len(problems):
            first = problems.iloc[0]
            raise ValueError(
                f"{path}, ligne {first['line']}, colonne {first['column']} : {first['reason']}"
            )
        store(con, kind, frame, synthetic=True, file=str(path), loaded_at=now)
        rows += len(frame)
    return [
        dict(
            source="plan:demonstration",
            file=str(DEMO_DIR),
            vintage=settings.DEMO_LABEL.lower(),
            file_sha256=digest.hexdigest(),
            rows_read=rows,
            rows_loaded=rows,
            rows_rejected=0,
            synthetic=True,
        )
    ]


# ---------------------------------------------------------------------------------------------
# Following the plan


def axes(wh) -> pd.DataFrame:
    """The plan's axes in their order (codes compared as numbers when they are)."""
    frame = wh.sql("SELECT axis_code, title, description, synthetic FROM plan_axes")
    return frame.iloc[_natural_order(frame["axis_code"])].reset_index(drop=True)


def _natural_order(codes: pd.Series) -> list[int]:
    def sort_key(code: str):
        return [
            (0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", code) if p
        ]

    return sorted(range(len(codes)), key=lambda i: sort_key(str(codes.iloc[i])))


def actions(wh, axis: str | None = None) -> pd.DataFrame:
    """Actions (optionally of one axis) with their axis title and territory name."""
    frame = wh.sql(
        "SELECT a.*, x.title AS axis_title, t.name AS territory_name FROM plan_actions AS a "
        "LEFT JOIN plan_axes AS x USING (axis_code) "
        "LEFT JOIN territories AS t ON t.level = a.territory_level AND t.code = a.territory_code "
        "WHERE $axis IS NULL OR a.axis_code = $axis",
        dict(axis=axis),
    )
    return frame.iloc[_natural_order(frame["action_code"])].reset_index(drop=True)


def status_counts(wh, axis: str | None = None) -> pd.DataFrame:
    """Number of actions by axis and status: one row per axis, one column per status code."""
    frame = actions(wh, axis)
    order = axes(wh)
    if axis:
        order = order[order["axis_code"] == axis]
    counts = pd.crosstab(frame["axis_code"], frame["status"]).reindex(
        index=order["axis_code"], columns=list(STATUSES), fill_value=0
    )
    return counts.reset_index().merge(order[["axis_code", "title"]], on="axis_code")


def progress(wh, axis: str | None = None) -> pd.DataFrame:
    """The latest measure of each indicator against its target (``progress_pct``: share of the
    way from the initial value to the target, in %)."""
    frame = wh.sql(
        "SELECT * FROM plan_indicator_progress WHERE $axis IS NULL OR axis_code = $axis",
        dict(axis=axis),
    )
    order = _natural_order(frame["action_code"] + "\u0000" + frame["indicator"])
    return frame.iloc[order].reset_index(drop=True)


def events_by_departement(wh) -> pd.DataFrame:
    """Events by département (région-wide events apart, with ``departement_code`` empty)."""
    return wh.sql(
        "SELECT e.departement_code, d.name, d.region_code, sum(e.events)::INTEGER AS events "
        "FROM plan_events_by_departement AS e "
        "LEFT JOIN territories AS d ON d.level = 'departement' AND d.code = e.departement_code "
        "GROUP BY ALL ORDER BY e.departement_code NULLS LAST"
    )
