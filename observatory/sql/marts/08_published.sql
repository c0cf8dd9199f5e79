-- Marts: the published figures the observatory shows (INSEE, Urssaf, a CRESS), each as one of
-- the indicators of the theme « published » (observatory/indicators.py), with its family and
-- sector labels. Figures outside the ESS (Urssaf's « Hors ESS ») and INSEE's zones (France de
-- province, métropolitaine) are left out; INSEE tables give many indicators besides the ESS
-- (ITDD: life expectancy, R&D…): only the ESS share of salaried employment is recognised, by
-- its label. `figure_id` numbers the rows for the secrecy masks of the CRESS's figures.
CREATE OR REPLACE TABLE published_indicators AS
WITH labelled AS (
    SELECT p.*, strip_accents(lower(p.measure)) AS plain FROM published_figures AS p
), mapped AS (
    SELECT *,
        CASE
            WHEN source = 'insee' AND regexp_matches(plain, 'economie sociale|\bess\b')
                 AND regexp_matches(plain, 'emploi|salari') AND contains(plain, '%')
                THEN 'insee_ess_share_employees'
            WHEN source = 'urssaf' THEN CASE measure
                WHEN 'etablissements' THEN 'urssaf_establishments'
                WHEN 'effectifs_salaries_moyens' THEN 'urssaf_average_employees'
                WHEN 'masse_salariale' THEN 'urssaf_wage_bill' END
            WHEN source = 'cress' THEN CASE measure
                WHEN 'etablissements' THEN 'cress_establishments'
                WHEN 'postes_salaries' THEN 'cress_employees'
                WHEN 'etp' THEN 'cress_fte'
                WHEN 'remunerations_brutes' THEN 'cress_gross_wages'
                WHEN 'part_emploi_salarie_pct' THEN 'cress_ess_share_employees' END
        END AS indicator
    FROM labelled
    WHERE coalesce(family_code, 'ESS') <> 'HORS_ESS' AND level <> 'zone'
), sector_labels AS (
    SELECT DISTINCT a21_code AS sector_code, 'a21' AS sector_level, a21_label AS sector_label,
           a21_code AS a21_code, NULL AS a88_code
    FROM sectors
    UNION ALL
    SELECT DISTINCT a88_code, 'a88', a88_label, a21_code, a88_code FROM sectors
    UNION ALL
    SELECT naf_code, 'naf', naf_label, a21_code, a88_code FROM sectors
)
SELECT row_number() OVER (
           ORDER BY m.level, m.code, m.indicator, m.year, nullif(m.family_code, 'ESS') NULLS FIRST,
                    m.sector_code NULLS FIRST
       )::INTEGER - 1 AS figure_id,
       m.indicator, m.source, m.level, m.code, m.year::INTEGER AS year,
       nullif(m.family_code, 'ESS') AS family_code, f.label AS family_label,
       m.sector_code, s.sector_level, s.sector_label, s.a21_code, s.a88_code,
       m.value, m.marker, m.file
FROM mapped AS m
LEFT JOIN families AS f ON f.family_code = m.family_code
LEFT JOIN sector_labels AS s USING (sector_code)
WHERE m.indicator IS NOT NULL
ORDER BY figure_id;
COMMENT ON TABLE published_indicators IS 'Chiffres publiés montrés par l''observatoire (INSEE, Urssaf, CRESS) : indicateur, source, territoire, année, famille, secteur (et niveau : section A21, division A88 ou sous-classe NAF), valeur ou marqueur, fichier.';
