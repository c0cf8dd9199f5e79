-- Ingest: ESS France's list of ESS companies. Input: temp view `essfrance_scan` (siren),
-- `load_context`. The list loaded last replaces the previous one.
CREATE OR REPLACE TEMP TABLE essfrance_checked AS
SELECT *,
    CASE
        WHEN siren_code IS NULL
            THEN struct_pack(col := 'siren', val := siren, why := 'SIREN absent ou invalide (9 chiffres)')
        WHEN row_number() OVER (PARTITION BY siren_code ORDER BY line) > 1
            THEN struct_pack(col := 'siren', val := siren, why := 'SIREN en double dans la liste')
    END AS problem
FROM (
    SELECT row_number() OVER () + 1 AS line, siren,
           CASE WHEN regexp_matches(obs_digits(siren), '^\d{1,9}$')
                THEN obs_digits(siren)::INTEGER END AS siren_code
    FROM essfrance_scan
);

INSERT INTO rejects
SELECT c.source, c.file, e.line, e.problem.col, e.problem.val, e.problem.why, c.loaded_at
FROM essfrance_checked AS e, load_context AS c
WHERE e.problem IS NOT NULL ORDER BY e.line;

DELETE FROM ess_france_sirens;
INSERT INTO ess_france_sirens
SELECT e.siren_code, c.file FROM essfrance_checked AS e, load_context AS c WHERE e.problem IS NULL;
