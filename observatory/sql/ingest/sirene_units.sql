-- Ingest: a SIRENE StockUniteLegale file (or an extract with its columns). Input: temp view
-- `sirene_units_scan` (siren, state, legal_category, ess_flag, shape: see
-- sirene_establishments.sql), `load_context`, `sirene_file`.
-- Active unités légales are checked and kept; a later load replaces a unité légale already loaded.
-- One parallel pass stores a row per line of the file, in file order (insertion order is
-- preserved, so a row's line is its rowid + 2), with the cleaned values of the active unités
-- légales and the problem found on the row itself (duplicates aside); the others are counted.
-- A broken row (fewer or more values than the header) is in scope and rejected.
CREATE OR REPLACE TEMP TABLE units_rows AS
SELECT in_scope, siren_given, siren_code, category_code, ess_code,
    CASE
        WHEN NOT in_scope THEN NULL
        WHEN shape IS NOT NULL THEN shape
        WHEN siren_code IS NULL
            THEN struct_pack(col := 'siren', val := siren_given, why := 'SIREN absent ou invalide (9 chiffres)')
        WHEN NOT regexp_matches(coalesce(category_code, ''), '^\d{4}$')
            THEN struct_pack(col := 'categorieJuridiqueUniteLegale', val := legal_category,
                             why := 'catégorie juridique invalide (4 chiffres)')
        WHEN coalesce(ess_code, 'N') NOT IN ('O', 'N')
            THEN struct_pack(col := 'economieSocialeSolidaireUniteLegale', val := ess_flag,
                             why := 'indicateur ESS invalide (O, N ou vide)')
    END AS problem
FROM (
    SELECT in_scope, shape, legal_category, ess_flag,
        -- The SIREN as a number (a key cheaper to store, join and deduplicate than text): nine
        -- digits as published, or fewer (leading zeros lost) once trimmed. The text given is
        -- kept only when it was not nine digits.
        CASE WHEN in_scope AND NOT as_published THEN siren END AS siren_given,
        CASE WHEN NOT in_scope THEN NULL
             WHEN as_published THEN siren::INTEGER
             WHEN regexp_matches(trim(siren), '^\d{1,9}$') THEN trim(siren)::INTEGER
        END AS siren_code,
        CASE WHEN in_scope THEN sirene_clean(legal_category) END AS category_code,
        CASE WHEN in_scope THEN sirene_clean(ess_flag) END AS ess_code
    FROM (SELECT in_scope, coalesce(in_scope AND regexp_matches(siren, '^\d{9}$'), false)
                 AS as_published, *
          FROM (SELECT shape IS NOT NULL OR coalesce(nullif(state, ''), 'A') = 'A' AS in_scope, *
                FROM sirene_units_scan))
);

-- The last line of a file that does not end with a line break, when it looks cut off.
CREATE OR REPLACE TEMP TABLE units_cut AS
SELECT (SELECT count(*) + 1 FROM units_rows) AS line,
       struct_pack(col := last_column, val := NULL::VARCHAR, why := last_line_cut) AS problem
FROM sirene_file WHERE last_line_cut IS NOT NULL;

-- Duplicates found by a hash aggregate (much cheaper than a window at national scale); the
-- first line of a SIREN is kept, the others are rejected.
CREATE OR REPLACE TEMP TABLE units_duplicates AS
SELECT siren_code, min(rowid) + 2 AS first_line
FROM units_rows WHERE siren_code IS NOT NULL
GROUP BY ALL HAVING count(*) > 1;

CREATE OR REPLACE TEMP TABLE units_rejected AS
SELECT r.rowid + 2 AS line,
       CASE WHEN r.rowid + 2 = x.line THEN x.problem
            WHEN r.problem IS NULL AND r.siren_code IS NOT NULL AND r.rowid + 2 > d.first_line
            THEN struct_pack(col := 'siren',
                             val := coalesce(r.siren_given, lpad(r.siren_code::VARCHAR, 9, '0')),
                             why := 'SIREN en double dans le fichier')
            ELSE r.problem END AS problem,
       NOT r.in_scope AS out_of_scope
FROM units_rows AS r
LEFT JOIN units_duplicates AS d USING (siren_code)
LEFT JOIN units_cut AS x ON x.line = r.rowid + 2
WHERE (r.in_scope AND (r.problem IS NOT NULL OR r.rowid + 2 > d.first_line))
   OR r.rowid + 2 = x.line;

INSERT INTO rejects
SELECT c.source, c.file, u.line, u.problem.col, nullif(u.problem.val, ''), u.problem.why, c.loaded_at
FROM units_rejected AS u, load_context AS c
ORDER BY u.line;

-- The unités légales kept: active, without any problem.
CREATE OR REPLACE TEMP VIEW units_kept AS
SELECT r.siren_given, r.siren_code, r.category_code, r.ess_code
FROM units_rows AS r ANTI JOIN units_rejected AS x ON x.line = r.rowid + 2
WHERE r.in_scope AND r.problem IS NULL;

DELETE FROM legal_units AS l
USING units_kept AS n
WHERE l.siren = n.siren_code;

INSERT INTO legal_units
SELECT u.siren_code, u.category_code, u.ess_code, c.vintage, c.file
FROM units_kept AS u, load_context AS c;

-- Rows read and rejected (for the report and `sources`).
CREATE OR REPLACE TEMP TABLE units_counts AS
SELECT (SELECT count(*) FROM units_rows) AS rows_read,
       (SELECT count(*) FROM units_rejected) AS rows_rejected,
       (SELECT count(*) FILTER (in_scope) FROM units_rows)
           + (SELECT count(*) FILTER (out_of_scope) FROM units_rejected) AS in_scope,
       (SELECT count(*) FILTER (length(trim(siren_given)) < 9) FROM units_kept) AS padded;

-- The rows of the file are no longer needed: their memory goes to the establishments' load.
DROP VIEW units_kept;
DROP TABLE units_rows;
DROP TABLE units_duplicates;
DROP TABLE units_rejected;

INSERT INTO load_stats
SELECT c.source, c.file, item, n FROM load_context AS c, (
    SELECT 'dans le champ (unités légales actives)' AS item, in_scope AS n FROM units_counts
    UNION ALL
    SELECT 'dont rejetées', rows_rejected FROM units_counts
    UNION ALL
    SELECT 'hors champ (unités légales cessées)', rows_read - in_scope FROM units_counts
    UNION ALL
    SELECT 'SIREN complétés par des zéros initiaux', padded FROM units_counts
) AS stats WHERE n > 0;
