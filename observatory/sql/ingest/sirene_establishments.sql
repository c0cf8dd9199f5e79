-- Ingest: a SIRENE StockEtablissement file. Input: temp view `sirene_scan` (columns renamed
-- by the reader: siret, siren, state, employer, staff_band, commune, country, naf,
-- naf_nomenclature; missing optional columns are NULL), `load_context` (source, file,
-- loaded_at, vintage). One streaming pass keeps the active employer establishments, with
-- their line number, and the last line (for the number of rows read).
CREATE OR REPLACE TEMP TABLE sirene_rows AS
SELECT * FROM (
    SELECT row_number() OVER () + 1 AS line,
           -- Bands 01 to 53 have employees (see staff_bands); a constant keeps the scan streaming.
           coalesce(state = 'A' AND (employer = 'O' OR (employer IS NULL
                    AND staff_band BETWEEN '01' AND '53')), false) AS in_scope,
           *
    FROM sirene_scan
)
QUALIFY in_scope OR lead(1) OVER () IS NULL;

-- Place, sector and staff band of every establishment in scope; the first problem wins.
CREATE OR REPLACE TEMP TABLE sirene_checked AS
WITH placed AS (
    SELECT r.*, obs_clean(r.commune) AS commune_given, l.code AS commune_code, l.how AS commune_how,
           obs_clean(r.naf) AS naf_code,
           coalesce(obs_clean(r.naf_nomenclature), 'NAFRev2') AS nomenclature,
           r.line > d.first_line AS duplicate
    FROM sirene_rows AS r
    LEFT JOIN territory_lookup AS l ON l.level = 'commune' AND l.given = obs_clean(r.commune)
    LEFT JOIN (SELECT siret, min(line) AS first_line FROM sirene_rows WHERE in_scope
               GROUP BY siret HAVING count(*) > 1) AS d USING (siret)
    WHERE r.in_scope
)
SELECT *,
    CASE
        WHEN commune_given IS NULL AND obs_clean(country) IS NOT NULL THEN 'à l''étranger'
        WHEN regexp_matches(commune_given, '^(975|977|978|98)')
            THEN 'collectivité d''outre-mer hors référentiel (975, 977, 978, 98x)'
        WHEN nomenclature <> 'NAFRev2' THEN 'ancienne nomenclature d''activité ' || nomenclature
    END AS counted_apart,
    CASE
        WHEN obs_clean(siret) IS NULL OR NOT regexp_matches(siret, '^\d{14}$')
            THEN struct_pack(col := 'siret', val := siret, why := 'SIRET absent ou invalide (14 chiffres)')
        WHEN duplicate
            THEN struct_pack(col := 'siret', val := siret, why := 'SIRET en double dans le fichier')
        WHEN commune_given IS NULL AND obs_clean(country) IS NULL
            THEN struct_pack(col := 'codeCommuneEtablissement', val := commune,
                             why := 'commune absente (ni commune, ni pays étranger)')
        WHEN commune_code IS NULL AND NOT regexp_matches(commune_given, '^(975|977|978|98)')
            THEN struct_pack(col := 'codeCommuneEtablissement', val := commune,
                             why := 'code commune inconnu ou périmé (absent du COG et des communes déléguées, associées et arrondissements connus)')
        WHEN nomenclature = 'NAFRev2' AND naf_code NOT IN (SELECT naf_code FROM sectors)
            THEN struct_pack(col := 'activitePrincipaleEtablissement', val := naf,
                             why := 'code NAF rév. 2 inconnu')
        WHEN coalesce(obs_clean(staff_band), '') NOT IN (SELECT staff_band FROM staff_bands)
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
SELECT c.vintage, s.siret, coalesce(obs_clean(s.siren), left(s.siret, 9)), s.commune_code,
       s.naf_code, coalesce(obs_clean(s.staff_band), ''), c.file
FROM sirene_checked AS s, load_context AS c
WHERE s.problem IS NULL AND s.counted_apart IS NULL;

INSERT INTO load_stats
SELECT c.source, c.file, item, n FROM load_context AS c, (
    SELECT 'établissements actifs employeurs' AS item, count(*) AS n FROM sirene_checked
    UNION ALL
    SELECT 'hors champ (fermés ou non employeurs)',
           (SELECT max(line) - 1 FROM sirene_rows) - count(*) FROM sirene_checked
    UNION ALL
    SELECT counted_apart, count(*) FROM sirene_checked
    WHERE problem IS NULL AND counted_apart IS NOT NULL GROUP BY counted_apart
    UNION ALL
    SELECT 'commune : ' || commune_how, count(*) FROM sirene_checked
    WHERE problem IS NULL AND counted_apart IS NULL AND commune_how <> 'code officiel'
    GROUP BY commune_how
) AS stats;
