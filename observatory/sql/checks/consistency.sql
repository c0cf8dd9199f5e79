-- Build checks: each query returns the rows that violate a rule, with a message.
-- A build whose checks return any row is refused and the previous warehouse stays in place.

-- Facts refer to known communes, families and sectors.
SELECT 'ess_facts: unknown commune ' || commune_code AS problem
FROM ess_facts WHERE commune_code NOT IN (SELECT code FROM territories WHERE level = 'commune')
UNION ALL
SELECT 'ess_facts: unknown family ' || family_code
FROM ess_facts WHERE family_code NOT IN (SELECT family_code FROM families)
UNION ALL
SELECT 'ess_facts: unknown NAF code ' || naf_code
FROM ess_facts WHERE naf_code NOT IN (SELECT naf_code FROM sectors)
UNION ALL
-- Every NAF sous-classe has a known activity domain (observatory/domains.py).
SELECT 'sectors: no known activity domain for NAF code ' || naf_code
FROM sectors WHERE domain_code IS NULL OR domain_code NOT IN (SELECT domain_code FROM domains)
UNION ALL
SELECT 'employment_totals: unknown commune ' || commune_code
FROM employment_totals WHERE commune_code NOT IN (SELECT code FROM territories WHERE level = 'commune')
UNION ALL
-- Counts are non-negative and a cell's largest establishment fits in it.
SELECT 'ess_facts: negative or inconsistent cell at ' || commune_code || ' ' || year
FROM ess_facts
WHERE establishments < 1 OR employees < 0 OR fte < 0 OR gross_wages < 0
   OR top_employees > employees
UNION ALL
-- Every establishment of a commune and year is in exactly one size class.
SELECT 'ess_size_facts: size classes do not add up at ' || commune_code || ' ' || year
FROM (SELECT commune_code, year, sum(establishments) AS n
      FROM ess_facts GROUP BY ALL) AS f
FULL OUTER JOIN (SELECT commune_code, year, sum(establishments) AS n
                 FROM ess_size_facts GROUP BY ALL) AS z USING (commune_code, year)
WHERE f.n IS DISTINCT FROM z.n
UNION ALL
SELECT 'ess_size_facts: unknown size class ' || size_class
FROM ess_size_facts WHERE size_class NOT IN (SELECT size_class FROM size_classes)
UNION ALL
-- Totals agree across levels: France = sum of régions = sum of départements.
SELECT 'totals differ across levels in ' || year || ': ' || level
FROM (
    SELECT year, level, sum(ess_employees + private_non_ess_employees + public_employees) AS total,
           sum(ess_establishments) AS establishments
    FROM employment_by_territory WHERE level IN ('france', 'region', 'departement')
    GROUP BY ALL
) AS by_level
JOIN (
    SELECT year, ess_employees + private_non_ess_employees + public_employees AS total,
           ess_establishments AS establishments
    FROM employment_by_territory WHERE level = 'france'
) AS france USING (year)
WHERE by_level.total <> france.total OR by_level.establishments <> france.establishments
UNION ALL
-- Shares are percentages.
SELECT 'key_figures: share out of range for ' || level || ' ' || code
FROM key_figures WHERE ess_share_pct < 0 OR ess_share_pct > 100;
