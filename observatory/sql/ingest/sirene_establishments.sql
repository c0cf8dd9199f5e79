-- Ingest: a SIRENE StockEtablissement file. Input: temp view `sirene_scan` (columns renamed
-- by the reader: siret, siren, state, employer, staff_band, commune, country, naf,
-- naf_nomenclature; missing optional columns are NULL), `load_context` (source, file,
-- loaded_at, vintage). One parallel pass stores a row per line of the file, in file order
-- (insertion order is preserved, so a row's line is its rowid + 2), with the values of the
-- active employer establishments only: the others are counted, not kept.
CREATE OR REPLACE TEMP TABLE sirene_rows AS
SELECT in_scope,
       CASE WHEN in_scope THEN siret END AS siret, CASE WHEN in_scope THEN siren END AS siren,
       CASE WHEN in_scope THEN staff_band END AS staff_band,
       CASE WHEN in_scope THEN commune END AS commune, CASE WHEN in_scope THEN country END AS country,
       CASE WHEN in_scope THEN naf END AS naf,
       CASE WHEN in_scope THEN naf_nomenclature END AS naf_nomenclature
FROM (
    -- Bands 01 to 53 have employees (see staff_bands).
    SELECT coalesce(state = 'A' AND (employer = 'O' OR (employer IS NULL
                    AND staff_band BETWEEN '01' AND '53')), false) AS in_scope, *
    FROM sirene_scan
);

-- Place, sector and staff band of every establishment in scope; the first problem wins.
CREATE OR REPLACE TEMP TABLE sirene_checked AS
WITH scoped AS (
    SELECT rowid + 2 AS line, siret AS siret_given, commune, naf, staff_band,
           -- SIRET and SIREN as numbers: keys cheaper to store, join and deduplicate than text.
           CASE WHEN regexp_matches(siret, '^\d{14}$') THEN siret::BIGINT END AS siret_number,
           sirene_clean(siren) AS siren_given, sirene_clean(commune) AS commune_given,
           sirene_clean(country) IS NOT NULL AS abroad, sirene_clean(naf) AS naf_code,
           coalesce(sirene_clean(naf_nomenclature), 'NAFRev2') AS nomenclature,
           coalesce(sirene_clean(staff_band), '') AS band
    FROM sirene_rows WHERE in_scope
), placed AS (
    SELECT r.*, l.code AS commune_code, l.how AS commune_how, r.line > d.first_line AS duplicate,
           regexp_matches(r.commune_given, '^(975|977|978|98)') AS overseas
    FROM scoped AS r
    LEFT JOIN territory_lookup AS l ON l.level = 'commune' AND l.given = r.commune_given
    LEFT JOIN (SELECT siret_number, min(line) AS first_line FROM scoped
               WHERE siret_number IS NOT NULL
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
        WHEN nomenclature = 'NAFRev2' AND naf_code NOT IN (SELECT naf_code FROM sectors)
            THEN struct_pack(col := 'activitePrincipaleEtablissement', val := naf,
                             why := 'code NAF rév. 2 inconnu')
        WHEN band NOT IN (SELECT staff_band FROM staff_bands)
            THEN struct_pack(col := 'trancheEffectifsEtablissement', val := staff_band,
                             why := 'tranche d''effectif inconnue')
    END AS problem
FROM placed;

INSERT INTO rejects
SELECT c.source, c.file, s.line, s.problem.col, s.problem.val, s.problem.why, c.loaded_at
FROM sirene_checked AS s, load_context AS c
WHERE s.problem IS NOT NULL
ORDER BY s.line;

-- Establishments of this vintage already loaded from another part are replaced, not added.
DELETE FROM sirene_establishments AS e
USING (SELECT DISTINCT siret FROM sirene_checked) AS n, load_context AS c
WHERE e.vintage = c.vintage AND e.siret = n.siret;

INSERT INTO sirene_establishments
SELECT c.vintage, s.siret, s.siren, s.commune_code, s.naf_code, s.band, c.file
FROM sirene_checked AS s, load_context AS c
WHERE s.problem IS NULL AND s.counted_apart IS NULL;

-- Rows read and rejected (for the report and `sources`).
CREATE OR REPLACE TEMP TABLE sirene_counts AS
SELECT (SELECT count(*) FROM sirene_rows) AS rows_read,
       count(*) AS in_scope, count(*) FILTER (problem IS NOT NULL) AS rows_rejected
FROM sirene_checked;

INSERT INTO load_stats
SELECT c.source, c.file, item, n FROM load_context AS c, (
    SELECT 'établissements actifs employeurs' AS item, in_scope AS n FROM sirene_counts
    UNION ALL
    SELECT 'hors champ (fermés ou non employeurs)', rows_read - in_scope FROM sirene_counts
    UNION ALL
    SELECT counted_apart, count(*) FROM sirene_checked
    WHERE problem IS NULL AND counted_apart IS NOT NULL GROUP BY counted_apart
    UNION ALL
    SELECT 'commune : ' || commune_how, count(*) FROM sirene_checked
    WHERE problem IS NULL AND counted_apart IS NULL AND commune_how <> 'code officiel'
    GROUP BY commune_how
) AS stats;
