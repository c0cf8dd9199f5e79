-- Ingest: store checked tidy figures. Rejects go to `rejects`; accepted figures replace those
-- with the same key (source, level, code, year, family, sector, measure): a file loaded
-- twice is counted once. Reads the temp table `load_context` (source, file, loaded_at).
INSERT INTO rejects
SELECT c.source, c.file, t.line, t.problem.col, nullif(t.problem.val, ''), t.problem.why, c.loaded_at
FROM tidy_checked AS t, load_context AS c
WHERE t.problem IS NOT NULL
ORDER BY t.line;

DELETE FROM published_figures AS p
USING (SELECT DISTINCT t.level, t.code, t.year, t.family_code, t.sector_code, t.measure, c.source
       FROM tidy_checked AS t, load_context AS c WHERE t.problem IS NULL) AS n
WHERE p.source = n.source AND p.level = n.level AND p.code = n.code AND p.year = n.year
  AND p.family_code IS NOT DISTINCT FROM n.family_code
  AND p.sector_code IS NOT DISTINCT FROM n.sector_code AND p.measure = n.measure;

INSERT INTO published_figures
SELECT c.source, t.level, t.code, t.year, t.family_code, t.sector_code, t.measure, t.value,
       t.marker, c.file
FROM tidy_checked AS t, load_context AS c
WHERE t.problem IS NULL
ORDER BY t.level, t.code, t.year, t.measure;

INSERT INTO load_stats
SELECT c.source, c.file, 'codes de territoire réparés ou convertis : ' || t.code_how, count(*)
FROM tidy_checked AS t, load_context AS c
WHERE t.problem IS NULL AND t.code_how <> 'code officiel'
GROUP BY ALL;
