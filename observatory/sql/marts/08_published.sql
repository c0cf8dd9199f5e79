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
COMMENT ON COLUMN published_indicators.figure_id IS 'Numéro du chiffre, de 0 à n - 1 (sert au secret statistique des chiffres d''une CRESS).';
COMMENT ON COLUMN published_indicators.indicator IS 'Indicateur de l''observatoire que le chiffre renseigne (part de l''ESS dans l''emploi salarié selon l''INSEE, établissements selon Urssaf…).';
COMMENT ON COLUMN published_indicators.source IS 'Éditeur du chiffre : insee, urssaf ou cress.';
COMMENT ON COLUMN published_indicators.level IS 'Niveau du territoire : france, region, departement, epci ou commune.';
COMMENT ON COLUMN published_indicators.code IS 'Code officiel du territoire (texte).';
COMMENT ON COLUMN published_indicators.year IS 'Année à laquelle se rapporte le chiffre.';
COMMENT ON COLUMN published_indicators.family_code IS 'Famille de l''ESS (ASSO, COOP, MUT, FOND, AUTRE, SCESS) ; vide : toute l''ESS.';
COMMENT ON COLUMN published_indicators.family_label IS 'Nom de la famille.';
COMMENT ON COLUMN published_indicators.sector_code IS 'Secteur d''activité : section A21, division A88 ou sous-classe NAF ; vide : tous les secteurs.';
COMMENT ON COLUMN published_indicators.sector_level IS 'Niveau du secteur : a21 (section), a88 (division) ou naf (sous-classe).';
COMMENT ON COLUMN published_indicators.sector_label IS 'Libellé du secteur.';
COMMENT ON COLUMN published_indicators.a21_code IS 'Section A21 du secteur.';
COMMENT ON COLUMN published_indicators.a88_code IS 'Division A88 du secteur (vide pour une section).';
COMMENT ON COLUMN published_indicators.value IS 'Valeur publiée, dans l''unité de l''indicateur ; vide quand la source ne la donne pas (voir le marqueur).';
COMMENT ON COLUMN published_indicators.marker IS 'Sens d''une valeur absente : s (secret statistique), nd (non disponible), nc (non déterminé), ns (non significatif), - (néant) ou vide.';
COMMENT ON COLUMN published_indicators.file IS 'Fichier d''où vient le chiffre.';
