"""The indicators of each theme of a portrait (key figures, families, sectors, trends,
rankings, comparison, domains, density, size, métropoles, published figures)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from observatory import formatting, secrecy
from observatory.families import FAMILY_CODES
from observatory.indicators import batch
from observatory.indicators.definitions import (
    DENOMINATORS,
    ESS_COLUMNS,
    LEVEL_LABELS,
    NOT_LOADED,
    PROVINCE_LABEL,
    REGISTRY,
    Territory,
)
from observatory.secrecy.masks import MEASURES, PARENT, PROVINCE
from observatory.size_classes import SIZE_CLASS_CODES
from observatory.territories import parent_of


class _Themes:
    """The themes of :class:`observatory.indicators.portrait._Portrait`, one method each."""

    def key_figures(self) -> None:
        row = self.employment.get(self.year)
        ess = {m: self.ess(m) for m in MEASURES}
        for measure, code in zip(
            MEASURES, ("ess_establishments", "ess_employees", "ess_fte", "ess_gross_wages")
        ):
            self.add(code, *ess[measure])
        (wages, wages_secret), (fte, fte_secret) = ess["gross_wages"], ess["fte"]
        self.add("ess_average_wage_fte", wages / fte if fte else np.nan, wages_secret or fte_secret)
        columns = {
            "establishments": "establishments",
            "employees": "employees",
            "fte": "fte",
            "gross_wages": "wages",
        }
        for measure, column in columns.items():
            value, secret = ess[measure]
            private = value + (row[f"private_non_ess_{column}"] if row is not None else 0)
            total = private + (row[f"public_{column}"] if row is not None else 0)
            whole = DENOMINATORS[measure]
            self.add(
                f"ess_share_{measure}",
                _pct(value, total),
                secret,
                note=f"dénominateur : {whole} (ESS, privé hors ESS, public)",
            )
            self.add(
                f"ess_share_private_{measure}",
                _pct(value, private),
                secret,
                note=f"dénominateur : {whole} du privé (ESS et privé hors ESS)",
            )
            if measure == "employees":
                counts = (
                    row["ess_establishments"] + row["private_non_ess_establishments"]
                    if row is not None
                    else 0
                )
                all_counts = counts + (row["public_establishments"] if row is not None else 0)
                self.add("total_employees", total, secrecy.primary([all_counts])[0])
                self.add("private_employees", private, secrecy.primary([counts])[0])

    def families(self) -> None:
        total, total_secret = self.ess("employees")
        for kind, family in enumerate(FAMILY_CODES, start=1):
            label = self.static.families.get(family, family)
            cells = {m: self.ess(m, kind=kind) for m in MEASURES}
            for measure in MEASURES:
                self.add(
                    f"family_{measure}",
                    *cells[measure],
                    breakdown="famille",
                    category=family,
                    category_label=label,
                )
            value, secret = cells["employees"]
            self.add(
                "family_share_employees",
                _pct(value, total),
                secret or total_secret,
                breakdown="famille",
                category=family,
                category_label=label,
            )

    def sectors(self) -> None:
        block, static = self.block, self.static
        totals = static.rollup(self._sector_totals())
        france = static.rollup(static.france_sectors[self.year])
        region = self._region_sectors()
        region = static.rollup(region) if region is not None else None
        ess_total, ess_secret = self.ess("employees")
        codes = {"a21": static.a21, "a38": static.a38, "a88": static.a88}
        names = {"a21": "section A21", "a38": "A38", "a88": "division A88"}
        for level in block.SECTOR_LEVELS:
            for i in block.present[level]:
                code = codes[level][i]
                cell = block.sector_cell(self.key_protected, (level, i))
                keys = dict(
                    breakdown=names[level],
                    category=code,
                    category_label=static.labels[(level, code)],
                )
                employees, secret = block.get("employees", cell)
                self.add("sector_establishments", *block.get("establishments", cell), **keys)
                self.add("sector_employees", employees, secret, **keys)
                self.add("sector_ess_share", _pct(employees, totals[level][i]), secret, **keys)
                weight = employees / ess_total if ess_total else np.nan
                for name, reference in (("france", france), ("region", region)):
                    if reference is None:
                        continue
                    base = (
                        reference[level][i] / reference["a88"].sum()
                        if reference[level][i]
                        else np.nan
                    )
                    self.add(
                        f"sector_specialisation_{name}", weight / base, secret or ess_secret, **keys
                    )

    def _sector_totals(self) -> np.ndarray:
        """Salaried employment of the territory by A88 division (ESS, private, public)."""
        static = self.static
        if self.t.level == "commune":  # the ESS from the block, the rest from the rows
            base = self.block.sectors_of(self.key_protected, "employees")["a88"].copy()
        else:
            base = np.zeros(len(static.a88))
        if self.batch is not None:
            rows = self.batch.sector_rows(self.year).get(self.t.code)
        else:
            rows = batch.sector_rows(
                static, self.wh.connection, self.t.level, [self.t.code], self.year
            )
            rows = rows.get(self.t.code)
        if rows is not None:
            np.add.at(base, rows["i"], rows["n"])
        return base

    def _region_sectors(self) -> np.ndarray | None:
        if self.t.level in ("france", "region") or not self.t.region_code:
            return None
        return self.static.region_sectors(self.wh.connection, self.t.region_code, self.year)

    def trends(self) -> None:
        series = self.static.series
        years = [y for y in self.static.years if self.start <= y <= self.year]
        for measure in ("employees", "establishments"):
            cells = {y: self.ess(measure, y) for y in years}
            base, base_secret = cells[self.start]
            for y in years:
                value, secret = cells[y]
                crossed = series[y] != series[self.start]
                self.add(
                    f"{measure}_index",
                    100 * value / base if base else np.nan,
                    secret or base_secret,
                    year=y,
                    breakdown="année",
                    category=str(y),
                    category_label=f"{y} (base 100 en {self.start})",
                    series_break=crossed,
                    note=_break_note(crossed),
                )
                if y > self.start:
                    before, before_secret = cells[y - 1]
                    crossed = series[y] != series[y - 1]
                    self.add(
                        f"{measure}_annual_change",
                        100 * (value / before - 1) if before else np.nan,
                        secret or before_secret,
                        year=y,
                        breakdown="année",
                        category=str(y),
                        category_label=f"{y - 1}-{y}",
                        series_break=crossed,
                        note=_break_note(crossed),
                    )
            value, secret = cells[self.year]
            span = self.year - self.start
            crossed = series[self.year] != series[self.start]
            growth = (
                100 * ((value / base) ** (1 / span) - 1) if span and base and value >= 0 else np.nan
            )
            self.add(
                f"{measure}_average_growth",
                growth,
                secret or base_secret,
                breakdown="période",
                category=f"{self.start}-{self.year}",
                category_label=f"{self.start} à {self.year}",
                series_break=crossed,
                note=_break_note(crossed),
            )

    def rankings(self) -> None:
        if self.t.level == "france":
            return
        parent_level, column = PARENT[self.t.level]
        _, secret = self.ess("employees")
        plural = {
            "region": "régions",
            "departement": "départements",
            "epci": "EPCI",
            "commune": "communes",
        }[self.t.level]
        table = self.static.ranking_table(self.wh.connection, self.t.level, self.year)
        position = np.flatnonzero(table["code"] == self.t.code)
        if not len(position):
            return
        me = position[0]
        scopes = [("france", "France entière", np.ones(len(table["code"]), bool))]
        if column is not None and getattr(self.t, column):
            parent = getattr(self.t, column)
            scopes.append(
                (parent, f"{LEVEL_LABELS[parent_level]} {parent}", table["parent"] == parent)
            )
        for category, label, scope in scopes:
            keys = dict(
                breakdown="périmètre",
                category=category,
                category_label=label,
                note=f"sur {formatting.number(scope.sum())} {plural}",
            )
            for indicator, values in (
                ("rank_ess_employees", table["employees"]),
                ("rank_ess_share_employees", table["share"]),
            ):
                value = values[me]
                rank = np.nan if np.isnan(value) else 1 + np.count_nonzero(values[scope] > value)
                self.add(indicator, rank, secret, **keys)

    def comparison(self) -> None:
        reference = self.reference or parent_of(self.wh, self.t)
        self._compared(reference)
        if reference is None:
            return
        ref = type(self)(self.wh, reference, self.year, None, None)
        employees, secret = ref.total()
        row = ref.employment.get(self.year)
        total = (
            employees + row["private_non_ess_employees"] + row["public_employees"]
            if row is not None
            else np.nan
        )
        keys = dict(
            breakdown="territoire de référence",
            category=reference.code,
            category_label=reference.label,
        )
        ref_share = _pct(employees, total)
        self.add("reference_ess_employees", employees, secret, **keys)
        self.add("reference_ess_share_employees", ref_share, secret, **keys)
        own = self.employment.get(self.year)
        value, own_secret = self.ess("employees")
        own_total = (
            value + own["private_non_ess_employees"] + own["public_employees"]
            if own is not None
            else np.nan
        )
        self.add(
            "gap_ess_share_employees",
            _pct(value, own_total) - ref_share,
            secret or own_secret,
            **keys,
        )
        density = 1000 * employees / reference.population if reference.population else np.nan
        self.add(
            "reference_density_employees",
            density,
            secret,
            **keys,
            note=None if reference.population else "population non disponible",
        )

    def _compared(self, reference: Territory | None) -> None:
        """The key figures of the reference, France and « France de province » (France less
        Île-de-France), each masked as its own portrait (the province: as the national
        solution protects it)."""
        static = self.static
        territories = [t for t in (reference,) if t is not None and t.level != "france"]
        if self.t.level != "france":
            territories.append(static.territories[("france", "FR")])
        compared = []
        for territory in territories:
            other = type(self)(self.wh, territory, self.year, None, None)
            cells = {measure: other.total(measure) for measure in MEASURES}
            compared.append((territory.code, territory.label, cells, other.employment))
        national = static.national_masks(self.wh)
        if PROVINCE in national.index:
            employment = static.province_employment(self.wh.connection)
            row = employment.get(self.year)
            cell = national.grid_cells([PROVINCE], [self.year])[0]
            cells = {
                measure: (
                    row[ESS_COLUMNS[measure]] if row else 0.0,
                    bool(national.masks[measure][cell]),
                )
                for measure in MEASURES
            }
            compared.append((PROVINCE[1], PROVINCE_LABEL, cells, employment))
        for code, label, cells, employment in compared:
            row = employment.get(self.year)
            keys = dict(breakdown="territoire de comparaison", category=code, category_label=label)
            employees, secret = cells["employees"]
            private = employees + row["private_non_ess_employees"] if row else np.nan
            total = private + row["public_employees"] if row else np.nan
            fte, fte_secret = cells["fte"]
            wages, wages_secret = cells["gross_wages"]
            self.add("compared_ess_establishments", *cells["establishments"], **keys)
            self.add("compared_ess_employees", employees, secret, **keys)
            self.add("compared_ess_share_employees", _pct(employees, total), secret, **keys)
            self.add(
                "compared_ess_share_private_employees", _pct(employees, private), secret, **keys
            )
            self.add("compared_ess_fte", fte, fte_secret, **keys)
            self.add("compared_ess_gross_wages", wages, wages_secret, **keys)
            self.add(
                "compared_average_wage_fte",
                wages / fte if fte else np.nan,
                wages_secret or fte_secret,
                **keys,
            )

    def domains(self) -> None:
        """The ESS by activity domain (groups of NAF sous-classes, observatory/domains.py),
        masked together with the sectors."""
        block, static = self.block, self.static
        total, total_secret = self.ess("employees")
        for d in block.present["domain"]:
            code = static.domains[d]
            cell = block.sector_cell(self.key_protected, ("domain", int(d)))
            keys = dict(
                breakdown="domaine d'activité",
                category=code,
                category_label=static.labels[("domain", code)],
                note=f"codes NAF : {static.domain_naf[code]}",
            )
            employees, secret = block.get("employees", cell)
            self.add("domain_establishments", *block.get("establishments", cell), **keys)
            self.add("domain_employees", employees, secret, **keys)
            self.add(
                "domain_share_employees", _pct(employees, total), secret or total_secret, **keys
            )

    def density(self) -> None:
        population = self.t.population
        note = None if population else "population non disponible"
        employees, secret = self.ess("employees")
        establishments, est_secret = self.ess("establishments")
        self.add(
            "density_employees",
            1000 * employees / population if population else np.nan,
            secret,
            note=note,
        )
        self.add(
            "density_establishments",
            10000 * establishments / population if population else np.nan,
            est_secret,
            note=note,
        )

    def size(self) -> None:
        employees, secret = self.ess("employees")
        establishments, est_secret = self.ess("establishments")
        self.add(
            "average_size",
            employees / establishments if establishments else np.nan,
            secret or est_secret,
        )
        if not self.static.has_sizes:
            for code in ("size_establishments", "size_employees", "size_share_establishments"):
                self.add(
                    code,
                    np.nan,
                    available=False,
                    note=f"{NOT_LOADED} (effectif de chaque établissement)",
                )
            return
        for kind, size_class in enumerate(SIZE_CLASS_CODES, start=self.block.SIZES.start):
            label = self.static.size_classes.get(size_class, size_class)
            count, count_secret = self.ess("establishments", kind=kind)
            extra = dict(breakdown="taille", category=size_class, category_label=label)
            self.add("size_establishments", count, count_secret, **extra)
            self.add("size_employees", *self.ess("employees", kind=kind), **extra)
            self.add(
                "size_share_establishments",
                _pct(count, establishments),
                count_secret or est_secret,
                **extra,
            )

    def metropolitan(self) -> None:
        row = self.employment.get(self.year)
        if row is None:
            return
        block = self.block
        employees, secret = self.ess("employees")
        total = employees + row["private_non_ess_employees"] + row["public_employees"]
        if block.metro_cells:
            inside, inside_secret = block.get("employees", block.metro_cells["metro"])
            outside, outside_secret = block.get("employees", block.metro_cells["other"])
        else:  # a commune lies wholly inside or outside a métropole: its parts are its total
            inside, outside = row["metro_ess_employees"], employees - row["metro_ess_employees"]
            inside_secret = outside_secret = secret
        metro_total = float(row["metro_total_employees"])
        self.add(
            "ess_share_metropoles",
            _pct(inside, metro_total),
            inside_secret,
            note=None if metro_total else "aucune commune membre d'une métropole",
        )
        self.add(
            "ess_share_outside_metropoles",
            _pct(outside, total - metro_total),
            outside_secret,
            note=None if total - metro_total else "toutes les communes sont en métropole",
        )
        self.add(
            "communes_with_ess",
            _pct(row["communes_with_ess"], row["communes"]),
            note=f"{formatting.number(row['communes_with_ess'])} communes sur "
            f"{formatting.number(row['communes'])}",
        )

    def workforce(self) -> None:
        for code in ("workforce_women", "workforce_55_plus", "workforce_part_time"):
            self.add(code, np.nan, available=False, note=NOT_LOADED)

    def published(self) -> None:
        """Figures published by INSEE, Urssaf or the CRESS for the territory, every year, as
        published (``published.Figures``); « n.d. » for an indicator none of them gives."""
        figures = (
            self.static.published.of(self.t.level, self.t.code) if self.static.published else []
        )
        for f in figures:
            self.add(
                f.indicator,
                f.value,
                f.secret,
                year=f.year,
                breakdown=f.breakdown,
                category=f.category,
                category_label=f.category_label,
                available=f.available,
                note=f.note,
                source=f.source,
            )
        given = {f.indicator for f in figures}
        for code, meta in REGISTRY.items():
            if meta.theme == "published" and code not in given:
                self.add(code, np.nan, available=False, note=NOT_LOADED)


def _pct(part, whole) -> float:
    return 100.0 * part / whole if whole and not pd.isna(whole) else np.nan


def _break_note(crossed: bool) -> str | None:
    return "rupture de série Clap / Flores : évolution non comparable" if crossed else None
