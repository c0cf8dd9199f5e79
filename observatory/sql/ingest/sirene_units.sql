-- Ingest: a SIRENE StockUniteLegale file (or an extract with its columns). Input: temp view
-- `sirene_units_scan` (siren, state, legal_category, ess_flag), `load_context`.
-- Active unités légales are checked and kept; a later load replaces a unité légale already loaded.
-- SIRENE columns are clean text: trimming is enough (and much cheaper than obs_clean).
CREATE OR REPLACE TEMP MACRO sirene_clean(t) AS nullif(trim(t), '');

-- One streaming pass keeps the active unités légales with their line, and the last line.
CREATE OR REPLACE TEMP TABLE units_rows AS
SELECT * FROM (
    SELECT row_number() OVER () + 1 AS line, coalesce(state, 'A') = 'A' AS in_scope, *
    FROM sirene_units_scan
)
QUALIFY in_scope OR lead(1) OVER () IS NULL;

-- Duplicates found by a hash aggregate (much cheaper than a window at national scale).
CREATE OR REPLACE TEMP TABLE units_duplicates AS
SELECT lpad(sirene_clean(siren), 9, '0') AS siren_code, min(line) AS first_line
FROM units_rows WHERE in_scope
GROUP BY ALL HAVING count(*) > 1;

CREATE OR REPLACE TEMP TABLE units_checked AS
SELECT r.*, d.first_line,
    CASE
        WHEN r.siren_code IS NULL
            THEN struct_pack(col := 'siren', val := r.siren, why := 'SIREN absent ou invalide (9 chiffres)')
        WHEN r.line > d.first_line
            THEN struct_pack(col := 'siren', val := r.siren, why := 'SIREN en double dans le fichier')
        WHEN NOT regexp_matches(coalesce(sirene_clean(r.legal_category), ''), '^\d{4}$')
            THEN struct_pack(col := 'categorieJuridiqueUniteLegale', val := r.legal_category,
                             why := 'catégorie juridique invalide (4 chiffres)')
        WHEN coalesce(sirene_clean(r.ess_flag), 'N') NOT IN ('O', 'N')
            THEN struct_pack(col := 'economieSocialeSolidaireUniteLegale', val := r.ess_flag,
                             why := 'indicateur ESS invalide (O, N ou vide)')
    END AS problem
FROM (
    SELECT *, CASE WHEN regexp_matches(sirene_clean(siren), '^\d{1,9}$')
                   THEN lpad(sirene_clean(siren), 9, '0') END AS siren_code
    FROM units_rows WHERE in_scope
) AS r
LEFT JOIN units_duplicates AS d USING (siren_code);

INSERT INTO rejects
SELECT c.source, c.file, u.line, u.problem.col, u.problem.val, u.problem.why, c.loaded_at
FROM units_checked AS u, load_context AS c
WHERE u.problem IS NOT NULL
ORDER BY u.line;

DELETE FROM legal_units AS l
USING (SELECT siren_code FROM units_checked WHERE problem IS NULL) AS n
WHERE l.siren = n.siren_code;

INSERT INTO legal_units
SELECT u.siren_code, sirene_clean(u.legal_category), sirene_clean(u.ess_flag), c.vintage, c.file
FROM units_checked AS u, load_context AS c
WHERE u.problem IS NULL;

INSERT INTO load_stats
SELECT c.source, c.file, item, n FROM load_context AS c, (
    SELECT 'unités légales actives' AS item, count(*) FILTER (problem IS NULL) AS n
    FROM units_checked
    UNION ALL
    SELECT 'hors champ (unités légales cessées)',
           (SELECT max(line) - 1 FROM units_rows) - (SELECT count(*) FROM units_checked)
    UNION ALL
    SELECT 'SIREN complétés par des zéros initiaux', count(*)
    FROM units_checked WHERE problem IS NULL AND siren_code <> sirene_clean(siren)
) AS stats WHERE n > 0;
