-- Ingest: ESS France's list of ESS companies. Input: temp view `essfrance_scan` (siren;
-- shape, the problem of a row with fewer or more values than the header), `essfrance_file`
-- (unterminated, last_line_cut, last_column), `load_context`. The list loaded last replaces
-- the previous one. A SIREN that lost its leading zeros is accepted, except on the last line
-- of a file without a final line break, where it may have been cut off.
CREATE OR REPLACE TEMP TABLE essfrance_checked AS
SELECT *,
    CASE
        WHEN shape IS NOT NULL THEN shape
        WHEN last AND f.last_line_cut IS NOT NULL
            THEN struct_pack(col := f.last_column, val := siren, why := f.last_line_cut)
        WHEN siren_code IS NULL
            THEN struct_pack(col := 'siren', val := siren, why := 'SIREN absent ou invalide (9 chiffres)')
        WHEN last AND f.unterminated AND length(obs_digits(siren)) < 9
            THEN struct_pack(col := 'siren', val := siren,
                             why := 'SIREN de moins de 9 chiffres sur la dernière ligne, sans fin de ligne : fichier coupé ?')
        WHEN row_number() OVER (PARTITION BY siren_code ORDER BY line) > 1
            THEN struct_pack(col := 'siren', val := siren, why := 'SIREN en double dans la liste')
    END AS problem
FROM (
    SELECT *, line = max(line) OVER () AS last
    FROM (
        SELECT row_number() OVER () + 1 AS line, siren, shape,
               CASE WHEN regexp_matches(obs_digits(siren), '^\d{1,9}$')
                    THEN obs_digits(siren)::INTEGER END AS siren_code
        FROM essfrance_scan
    )
), essfrance_file AS f;

INSERT INTO rejects
SELECT c.source, c.file, e.line, e.problem.col, nullif(e.problem.val, ''), e.problem.why, c.loaded_at
FROM essfrance_checked AS e, load_context AS c
WHERE e.problem IS NOT NULL ORDER BY e.line;

DELETE FROM ess_france_sirens;
INSERT INTO ess_france_sirens
SELECT e.siren_code, c.file FROM essfrance_checked AS e, load_context AS c WHERE e.problem IS NULL;
