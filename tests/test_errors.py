"""One error family: every error the package raises on purpose is caught by one clause, and
each speaks French."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import pytest
from conftest import run_cli

import observatory
from observatory import errors
from observatory.ingest import manifest

PACKAGE = Path(observatory.__file__).parent
# Not errors for a user: a retry signal inside the downloader, and a signal-driven stop that
# must escape ``except Exception`` (a BaseException on purpose).
SIGNALS = {"Transient", "RefreshStopped"}
# The drop zone's lock keeps its own error beside the lock (it carries the holder's words).
HOMES = {"errors.py": errors, "ingest/manifest.py": manifest}


def _exception_classes() -> dict[str, str]:
    """Every class of the package whose bases name an exception or a warning, by ast, mapped
    to the file defining it (names resolved to a fixed point: ``class A(B)`` with B an error)."""
    found: dict[str, str] = {}
    classes = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = [ast.unparse(base).rsplit(".", 1)[-1] for base in node.bases]
                classes.append((node.name, bases, str(path.relative_to(PACKAGE))))
    changed = True
    while changed:
        changed = False
        for name, bases, where in classes:
            if name not in found and any(
                base.endswith(("Error", "Exception", "Warning")) or base in found for base in bases
            ):
                found[name] = where
                changed = True
    return found


def test_every_error_of_the_package_belongs_to_the_family():
    outside = []
    for name, where in _exception_classes().items():
        if name in SIGNALS:
            continue
        if where not in HOMES:
            outside.append(f"{name} ({where}) is defined outside observatory/errors.py")
            continue
        cls = getattr(HOMES[where], name)
        if not issubclass(cls, (errors.ObservatoryError, errors.ObservatoryWarning)):
            outside.append(f"{name} is not an ObservatoryError or ObservatoryWarning")
    assert outside == []


def test_the_family_is_found_where_users_met_it_first():
    """Moving the classes broke no import: the old homes hand out the same class."""
    from observatory import indicators, secrecy, territories, warehouse
    from observatory.publish import refresh

    assert territories.TerritoryError is errors.TerritoryError is observatory.TerritoryError
    assert indicators.YearError is errors.YearError is observatory.YearError
    assert warehouse.WarehouseMissingError is errors.WarehouseMissingError
    assert refresh.RefreshError is errors.RefreshError
    assert secrecy.SecrecyWarning is errors.SecrecyWarning is observatory.SecrecyWarning


def test_one_clause_catches_a_bad_territory_and_a_bad_year(wh):
    from observatory import indicators

    caught = []
    for call in (
        lambda: indicators.resolve(wh, "99999", "commune"),
        lambda: indicators.resolve_year(wh, 1850),
    ):
        try:
            call()
        except observatory.ObservatoryError as exc:
            caught.append(str(exc))
    assert len(caught) == 2
    # French sentences, not Python's words
    assert all(
        "'" not in text[:1] and not text.startswith(("Unknown", "Invalid")) for text in caught
    )
    assert "1850" in caught[1]


def test_filtering_the_secrecy_warning_silences_every_secrecy_warning(wh, tmp_path):
    """There were two SecrecyWarning classes: filtering secrecy's let the export's through."""
    frame = wh.key_figures("departement", year=wh.years()[-1])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", observatory.SecrecyWarning)
        observatory.to_excel(frame, tmp_path / "brut.xlsx", publication=False)
    assert [w for w in caught if "secret" in str(w.message).lower()] == []


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["portrait", "99", "--level", "departement"], "Erreur : "),
        (["portrait", "48", "--level", "departement", "--year", "1850"], "1850"),
    ],
)
def test_the_command_line_shows_the_familys_french_sentence(warehouse_path, args, expected):
    done = run_cli(*args, "--db", str(warehouse_path))
    assert done.returncode == 1
    assert done.stderr.startswith("Erreur : ") and expected in done.stderr
    assert "Traceback" not in done.stderr
