-- Load checks: provenance adds up and commune-level sources are never mixed.

-- Rows read = rows loaded + rows rejected, for every source.
SELECT 'sources: rows read differ from rows loaded + rejected for ' || file AS problem
FROM sources WHERE rows_read <> rows_loaded + rows_rejected
UNION ALL
-- A year of commune-level facts comes from one source (demo and real figures never mix).
SELECT 'ess_facts: several sources for year ' || year || ': ' || string_agg(DISTINCT source, ', ')
FROM ess_facts GROUP BY year HAVING count(DISTINCT source) > 1
UNION ALL
SELECT 'published_figures: duplicate key ' || source || ' ' || level || ' ' || code || ' ' || year
       || ' ' || measure
FROM published_figures
GROUP BY source, level, code, year, family_code, sector_code, measure HAVING count(*) > 1;
