-- Ingest: a SIRENE StockEtablissement file. Input: temp view `sirene_scan` (columns renamed
-- by the reader: siret, siren, state, employer, staff_band, commune, country, naf,
-- naf_nomenclature as text, NULL for a missing column or a value missing from a short row;
-- shape, the problem of a row with fewer or more values than the header), `load_context`
-- (source, file, loaded_at, vintage, new_stock, replaced_stock), `sirene_file` (last_line_cut,
-- last_column). One parallel pass stores a row per line of the file, in file order (insertion
-- order is preserved, so a row's line is its rowid + 2), with the values of the active
-- employer establishments only, packed in one list (`kept`): the others are counted, not kept.
-- One nullable list costs a fraction of nine nullable columns, whose every NULL takes room: at
-- national scale (40 million rows, 13 % in scope) the table then fits in memory instead of
-- spilling to disk. A broken row (short, long, with an invalid state or employer flag) is in
-- scope: it might have counted, it is rejected.
CREATE OR REPLACE TEMP TABLE sirene_rows AS
SELECT in_scope,
       CASE WHEN in_scope THEN [siret, siren, staff_band, commune, country, naf, naf_nomenclature,
                                broken.col, broken.val, broken.why] END AS kept
FROM (
    -- Employer: flag O; without a flag (no column, or an empty value), a band from 01 to 53,
    -- which have employees (see staff_bands).
    SELECT broken IS NOT NULL OR (state = 'A' AND (employer = 'O' OR (coalesce(employer, '') = ''
                    AND staff_band BETWEEN '01' AND '53'))) AS in_scope, *
    FROM (
        SELECT *,
            CASE
                WHEN shape IS NOT NULL THEN shape
                WHEN coalesce(state, '') NOT IN ('A', 'F')
                    THEN struct_pack(col := 'etatAdministratifEtablissement', val := state,
                                     why := 'état administratif invalide (A ou F)')
                WHEN state = 'A' AND coalesce(employer, '') NOT IN ('O', 'N', '')
                    THEN struct_pack(col := 'caractereEmployeurEtablissement', val := employer,
                                     why := 'caractère employeur invalide (O, N ou vide)')
            END AS broken
        FROM sirene_scan
    )
);

CREATE OR REPLACE TEMP TABLE sirene_read AS SELECT count(*) AS rows_read FROM sirene_rows;

-- The last line of a file that does not end with a line break, when it looks cut off.
CREATE OR REPLACE TEMP TABLE sirene_cut AS
SELECT (SELECT rows_read + 1 FROM sirene_read) AS line,
       struct_pack(col := last_column, val := NULL::VARCHAR, why := last_line_cut) AS problem
FROM sirene_file WHERE last_line_cut IS NOT NULL;

-- The establishments in scope (and a last line cut off), unpacked and cleaned; the rows of
-- the whole file are no longer needed.
CREATE OR REPLACE TEMP TABLE sirene_scoped AS
SELECT line, broken, siret AS siret_given, commune, naf, staff_band,
       -- SIRET and SIREN as numbers: keys cheaper to store, join and deduplicate than text.
       CASE WHEN regexp_matches(siret, '^\d{14}$') THEN siret::BIGINT END AS siret_number,
       sirene_clean(siren) AS siren_given, sirene_clean(commune) AS commune_given,
       sirene_clean(country) IS NOT NULL AS abroad, sirene_clean(naf) AS naf_code,
       coalesce(sirene_clean(naf_nomenclature), 'NAFRev2') AS nomenclature,
       coalesce(sirene_clean(staff_band), '') AS band
FROM (
    SELECT line, kept[1] AS siret, kept[2] AS siren, kept[3] AS staff_band, kept[4] AS commune,
           kept[5] AS country, kept[6] AS naf, kept[7] AS naf_nomenclature,
           CASE WHEN kept[10] IS NOT NULL
                THEN struct_pack(col := kept[8], val := kept[9], why := kept[10]) END AS broken
    FROM (
        SELECT rowid + 2 AS line, kept FROM sirene_rows WHERE in_scope
        UNION ALL
        SELECT rowid + 2, kept FROM sirene_rows
        WHERE NOT in_scope AND rowid = (SELECT line - 2 FROM sirene_cut)
    )
);

DROP TABLE sirene_rows;

-- Place, sector and staff band of every establishment in scope; the first problem wins.
CREATE OR REPLACE TEMP TABLE sirene_checked AS
WITH placed AS (
    SELECT r.*, l.code AS commune_code, l.how AS commune_how, r.line > d.first_line AS duplicate,
           regexp_matches(r.commune_given, '^(975|977|978|98)') AS overseas
    FROM sirene_scoped AS r
    LEFT JOIN territory_lookup AS l ON l.level = 'commune' AND l.given = r.commune_given
    LEFT JOIN (SELECT siret_number, min(line) AS first_line FROM sirene_scoped
               WHERE siret_number IS NOT NULL AND broken IS NULL
               GROUP BY siret_number HAVING count(*) > 1) AS d USING (siret_number)
)
SELECT line, siret_number AS siret,
    TRY_CAST(coalesce(siren_given, left(siret_given, 9)) AS INTEGER) AS siren, commune_code,
    commune_how,
    naf_code, band,
    CASE
        WHEN commune_given IS NULL AND abroad THEN 'à l''étranger'
        WHEN overseas THEN 'collectivité d''outre-mer hors référentiel (975, 977, 978, 98x)'
        WHEN nomenclature <> 'NAFRev2' THEN 'ancienne nomenclature d''activité ' || nomenclature
    END AS counted_apart,
    CASE
        WHEN broken IS NOT NULL THEN broken
        WHEN line = (SELECT line FROM sirene_cut) THEN (SELECT problem FROM sirene_cut)
        WHEN siret_number IS NULL
            THEN struct_pack(col := 'siret', val := siret_given, why := 'SIRET absent ou invalide (14 chiffres)')
        WHEN duplicate
            THEN struct_pack(col := 'siret', val := siret_given, why := 'SIRET en double dans le fichier')
        WHEN commune_given IS NULL AND NOT abroad
            THEN struct_pack(col := 'codeCommuneEtablissement', val := commune,
                             why := 'commune absente (ni commune, ni pays étranger)')
        WHEN commune_code IS NULL AND NOT overseas
            THEN struct_pack(col := 'codeCommuneEtablissement', val := commune,
                             why := 'code commune inconnu ou périmé (absent du COG et des communes déléguées, associées et arrondissements connus)')
        WHEN nomenclature = 'NAFRev2' AND naf_code IS NULL
            THEN struct_pack(col := 'activitePrincipaleEtablissement', val := naf,
                             why := 'code NAF absent')
        WHEN nomenclature = 'NAFRev2' AND naf_code NOT IN (SELECT naf_code FROM sectors)
            THEN struct_pack(col := 'activitePrincipaleEtablissement', val := naf,
                             why := 'code NAF rév. 2 inconnu')
        WHEN band NOT IN (SELECT staff_band FROM staff_bands)
            THEN struct_pack(col := 'trancheEffectifsEtablissement', val := staff_band,
                             why := 'tranche d''effectif inconnue')
    END AS problem
FROM placed;

DROP TABLE sirene_scoped;

INSERT INTO rejects
SELECT c.source, c.file, s.line, s.problem.col, nullif(s.problem.val, ''), s.problem.why, c.loaded_at
FROM sirene_checked AS s, load_context AS c
WHERE s.problem IS NOT NULL
ORDER BY s.line;

-- A new stock replaces the vintage's establishments (the count is kept for the report); a part
-- of the stock already loaded replaces only the establishments it holds again.
CREATE OR REPLACE TEMP TABLE sirene_replaced AS
SELECT count(*) AS establishments FROM sirene_establishments AS e, load_context AS c
WHERE c.new_stock AND e.vintage = c.vintage;

DELETE FROM sirene_establishments AS e USING load_context AS c
WHERE c.new_stock AND e.vintage = c.vintage;

DELETE FROM sirene_establishments AS e
USING (SELECT DISTINCT siret FROM sirene_checked) AS n, load_context AS c
WHERE e.vintage = c.vintage AND e.siret = n.siret;

INSERT INTO sirene_establishments
SELECT c.vintage, s.siret, s.siren, s.commune_code, s.naf_code, s.band, c.file
FROM sirene_checked AS s, load_context AS c
WHERE s.problem IS NULL AND s.counted_apart IS NULL;

-- Rows read, in scope and rejected (for the report and `sources`).
CREATE OR REPLACE TEMP TABLE sirene_counts AS
SELECT (SELECT rows_read FROM sirene_read) AS rows_read,
       count(*) AS in_scope, count(*) FILTER (problem IS NOT NULL) AS rows_rejected
FROM sirene_checked;

INSERT INTO load_stats
SELECT c.source, c.file, item, n FROM load_context AS c, (
    SELECT 'dans le champ (établissements actifs employeurs)' AS item, in_scope AS n
    FROM sirene_counts
    UNION ALL
    SELECT 'dont rejetées', rows_rejected FROM sirene_counts
    UNION ALL
    SELECT 'hors champ (fermés ou non employeurs)', rows_read - in_scope FROM sirene_counts
    UNION ALL
    SELECT counted_apart, count(*) FROM sirene_checked
    WHERE problem IS NULL AND counted_apart IS NOT NULL GROUP BY counted_apart
    UNION ALL
    SELECT 'commune : ' || commune_how, count(*) FROM sirene_checked
    WHERE problem IS NULL AND counted_apart IS NULL AND commune_how <> 'code officiel'
    GROUP BY commune_how
    UNION ALL
    SELECT 'remplace le stock ' || c.replaced_stock, establishments
    FROM sirene_replaced, load_context AS c WHERE establishments > 0
) AS stats;
