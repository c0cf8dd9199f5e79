-- Ingest: validate tidy published figures (INSEE tables, Urssaf, CRESS template) and store them.
-- Input: temp table `tidy` (line, level, code_raw, code_column, year_raw, year_column,
-- family_raw, family_column, sector_raw, sector_column, measure, value_raw, value_column,
-- additive, min_value, max_value, row_problem, row_problem_column, row_problem_value), plus
-- `family_lookup` (given, family_code).
CREATE OR REPLACE TEMP TABLE tidy_parsed AS
SELECT t.*,
       obs_clean(t.code_raw) AS code_given,
       l.code AS code,
       l.how AS code_how,
       TRY_CAST(obs_clean(t.year_raw) AS INTEGER) AS year,
       CASE WHEN obs_clean(t.family_raw) IS NULL THEN NULL ELSE f.family_code END AS family_code,
       CASE WHEN obs_clean(t.sector_raw) IS NULL
                 OR lower(obs_clean(t.sector_raw)) IN ('total', 'ensemble', 'tous secteurs')
            THEN NULL
            WHEN obs_clean(t.sector_raw) IN (SELECT naf_code FROM sectors) THEN obs_clean(t.sector_raw)
            WHEN lpad(regexp_extract(obs_clean(t.sector_raw), '^(\d{1,2})(\D|$)', 1), 2, '0')
                 IN (SELECT a88_code FROM sectors)
            THEN lpad(regexp_extract(obs_clean(t.sector_raw), '^(\d{1,2})(\D|$)', 1), 2, '0')
            WHEN upper(obs_clean(t.sector_raw)) IN (SELECT a21_code FROM sectors)
            THEN upper(obs_clean(t.sector_raw))
            ELSE '?' END AS sector_code,
       obs_number(t.value_raw) AS value,
       obs_marker(t.value_raw) AS marker
FROM tidy AS t
LEFT JOIN territory_lookup AS l
       ON l.level = t.level AND l.given = obs_clean(t.code_raw)
LEFT JOIN family_lookup AS f ON f.given = lower(obs_clean(t.family_raw));

CREATE OR REPLACE TEMP TABLE tidy_checked AS
WITH reasons AS (
    SELECT *,
        CASE
            WHEN row_problem IS NOT NULL
                THEN struct_pack(col := coalesce(row_problem_column, value_column),
                                 val := row_problem_value, why := row_problem)
            WHEN level NOT IN ('france', 'region', 'departement', 'epci', 'commune', 'zone')
                THEN struct_pack(col := code_column, val := level,
                                 why := 'niveau inconnu (france, region, departement, epci, commune)')
            WHEN code IS NULL
                THEN struct_pack(col := code_column, val := code_raw,
                                 why := 'territoire inconnu au niveau ' || level
                                        || ' (code absent, périmé ou d''une collectivité hors référentiel)')
            WHEN year IS NULL OR year NOT BETWEEN 1900 AND 2100
                THEN struct_pack(col := year_column, val := year_raw, why := 'année invalide')
            WHEN obs_clean(family_raw) IS NOT NULL AND family_code IS NULL
                THEN struct_pack(col := family_column, val := family_raw, why := 'famille de l''ESS inconnue')
            WHEN sector_code = '?'
                THEN struct_pack(col := sector_column, val := sector_raw,
                                 why := 'secteur inconnu (ni sous-classe NAF rév. 2, ni division A88, ni section)')
            WHEN obs_spreadsheet_error(value_raw)
                THEN struct_pack(col := value_column, val := value_raw,
                                 why := 'cellule en erreur dans le tableur (' || obs_clean(value_raw)
                                        || ') : corrigez la formule ou la donnée')
            WHEN starts_with(obs_clean(value_raw), '=')
                THEN struct_pack(col := value_column, val := value_raw,
                                 why := 'formule jamais calculée : ouvrez le classeur dans un tableur et enregistrez-le')
            WHEN value IS NULL AND marker IS NULL
                THEN struct_pack(col := value_column, val := value_raw, why := 'valeur non numérique')
            WHEN value < coalesce(min_value, CASE WHEN additive THEN 0 END)
                THEN struct_pack(col := value_column, val := value_raw, why := 'valeur négative')
            WHEN value > max_value
                THEN struct_pack(col := value_column, val := value_raw,
                                 why := 'valeur supérieure à ' || max_value::INTEGER)
        END AS problem
    FROM tidy_parsed
), ranked AS (
    SELECT *,
        row_number() OVER (PARTITION BY level, code, year, family_code, sector_code, measure
                           ORDER BY line) AS occurrence
    FROM reasons
)
SELECT * REPLACE (
    coalesce(problem, CASE WHEN occurrence > 1 THEN struct_pack(
        col := value_column, val := value_raw,
        why := 'clé en double (même territoire, année, famille, secteur et mesure qu''une ligne précédente)') END)
    AS problem)
FROM ranked;

-- Detail rows that disagree with their total: a total (family ESS) smaller than the sum of its
-- families is rejected (a larger one is accepted: families may be missing or secret).
CREATE OR REPLACE TEMP TABLE tidy_totals AS
SELECT t.obs_id, d.detail
FROM tidy_checked AS t
JOIN (
    SELECT level, code, year, sector_code, measure, sum(value) AS detail
    FROM tidy_checked
    WHERE problem IS NULL AND additive AND family_code IN (SELECT family_code FROM families)
    GROUP BY ALL
) AS d ON d.level = t.level AND d.code = t.code AND d.year = t.year
      AND d.sector_code IS NOT DISTINCT FROM t.sector_code AND d.measure = t.measure
WHERE t.problem IS NULL AND t.additive AND t.family_code = 'ESS' AND t.value IS NOT NULL
  AND d.detail - t.value > greatest(1, 0.001 * abs(t.value));

UPDATE tidy_checked AS t
SET problem = struct_pack(col := t.value_column, val := t.value_raw,
                          why := 'le total de l''ESS est inférieur à la somme de ses familles ('
                                 || d.detail || ')')
FROM tidy_totals AS d WHERE d.obs_id = t.obs_id AND t.problem IS NULL;
