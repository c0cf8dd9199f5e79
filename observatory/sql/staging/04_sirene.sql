-- Staging: SIRENE establishments classified (ESS or not, family, public or private) and
-- aggregated to commune × year; rules documented in observatory/sirene_codes.py.
-- A table, not a view: the facts, the size classes and the totals below all read it.
-- Employees are each establishment's staff band midpoint, summed as they are (rounding every
-- cell half up added about 2 % to the totals): they are rounded only for display. The largest
-- establishment's estimate is kept exactly too, for the dominance rule of statistical secrecy.
CREATE OR REPLACE TEMP TABLE stg_sirene_classified AS
SELECT e.vintage AS year, e.file, e.siret, e.commune_code, e.naf_code,
       s.a88_code,
       coalesce(b.estimated_employees, 0) AS estimated_employees,
       u.siren IS NOT NULL AS unit_known,
       u.ess_rule, u.family_code, u.public_body
FROM sirene_establishments AS e
JOIN raw_ref_naf AS s USING (naf_code)
LEFT JOIN legal_unit_classes AS u USING (siren)
LEFT JOIN raw_staff_bands AS b ON b.staff_band = coalesce(e.staff_band, '');

CREATE OR REPLACE TEMP VIEW stg_sirene_ess_facts AS
SELECT commune_code, year::SMALLINT AS year, family_code, naf_code,
       count(*)::INTEGER AS establishments,
       sum(estimated_employees)::DOUBLE AS employees,
       NULL::DOUBLE AS fte, NULL::BIGINT AS gross_wages,
       max(estimated_employees)::DOUBLE AS top_employees,
       NULL::DOUBLE AS top_fte, NULL::BIGINT AS top_wages,
       'sirene' AS source
FROM stg_sirene_classified
WHERE unit_known AND ess_rule IS NOT NULL
GROUP BY ALL;

-- Size class of each establishment from its staff band's estimate (band limits and class
-- limits agree: 1-9, 10-49, 50-249, 250 and more).
CREATE OR REPLACE TEMP VIEW stg_sirene_ess_size_facts AS
SELECT e.commune_code, e.year::SMALLINT AS year, z.size_class,
       count(*)::INTEGER AS establishments,
       sum(e.estimated_employees)::DOUBLE AS employees,
       NULL::DOUBLE AS fte, NULL::BIGINT AS gross_wages,
       max(e.estimated_employees)::DOUBLE AS top_employees,
       NULL::DOUBLE AS top_fte, NULL::BIGINT AS top_wages,
       'sirene' AS source
FROM stg_sirene_classified AS e
ASOF JOIN raw_ref_size_classes AS z ON e.estimated_employees >= z.min_employees
WHERE e.unit_known AND e.ess_rule IS NOT NULL
GROUP BY ALL;

CREATE OR REPLACE TEMP VIEW stg_sirene_employment_totals AS
SELECT commune_code, year::SMALLINT AS year, a88_code,
       count(*) FILTER (NOT public_body)::INTEGER AS private_non_ess_establishments,
       coalesce(sum(estimated_employees) FILTER (NOT public_body), 0)::DOUBLE
           AS private_non_ess_employees,
       NULL::DOUBLE AS private_non_ess_fte, NULL::BIGINT AS private_non_ess_wages,
       count(*) FILTER (public_body)::INTEGER AS public_establishments,
       coalesce(sum(estimated_employees) FILTER (public_body), 0)::DOUBLE
           AS public_employees,
       NULL::DOUBLE AS public_fte, NULL::BIGINT AS public_wages,
       'sirene' AS source
FROM stg_sirene_classified
WHERE unit_known AND ess_rule IS NULL
GROUP BY ALL;
COMMENT ON TABLE stg_sirene_classified IS 'Établissements SIRENE chargés, chacun classé : ESS ou non (et par quelle règle), famille, public ou privé, effectif estimé au milieu de sa tranche.';
COMMENT ON VIEW stg_sirene_ess_facts IS 'Faits de l''ESS estimés d''après SIRENE, par commune, année, famille et sous-classe NAF (effectifs au milieu des tranches, sans ETP ni rémunérations).';
COMMENT ON VIEW stg_sirene_ess_size_facts IS 'Faits de l''ESS estimés d''après SIRENE par commune, année et tranche de taille.';
COMMENT ON VIEW stg_sirene_employment_totals IS 'Emploi hors ESS (privé et public) estimé d''après SIRENE, par commune, année et division A88.';
