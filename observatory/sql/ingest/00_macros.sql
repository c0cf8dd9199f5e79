-- Ingest: text cleaning shared by every reader (values are read as text, then parsed here).

-- Trimmed text with runs of spaces (including no-break spaces) collapsed; NULL when empty.
CREATE OR REPLACE TEMP MACRO obs_clean(t) AS
    nullif(trim(regexp_replace(t, '[ \t\x{00A0}\x{202F}]+', ' ', 'g')), '');

-- SIRENE's columns are clean codes: trimming is enough (and much cheaper than obs_clean).
CREATE OR REPLACE TEMP MACRO sirene_clean(t) AS nullif(trim(t), '');

-- The meaning kept for a value that is not a number: s (secret), nd (non disponible),
-- nc (non déterminé), ns (non significatif), - (néant), vide (empty cell); NULL for numbers.
CREATE OR REPLACE TEMP MACRO obs_marker(t) AS
    CASE WHEN obs_clean(t) IS NULL THEN 'vide'
         WHEN lower(obs_clean(t)) IN ('s', 'nd', 'nc', 'ns', '-') THEN lower(obs_clean(t)) END;

-- A spreadsheet's error value, in English (as workbooks store it) or in French (as a French
-- spreadsheet writes it to CSV): #DIV/0!, #N/A, #VALEUR!, #REF!, #NOM?…
CREATE OR REPLACE TEMP MACRO obs_spreadsheet_error(t) AS
    regexp_matches(upper(obs_clean(t)),
                   '^#(DIV/0!|N/A|N/D|NA|VALUE!|VALEUR!|REF!|NAME\?|NOM\?|NUM!|NOMBRE!|NULL!|NUL!|'
                   || 'SPILL!|PROPAGATION!|CALC!|CALCUL!|GETTING_DATA|BLOCKED!|CONNECT!|FIELD!|'
                   || 'UNKNOWN!|BUSY!|ERREUR)$');

-- A number written the French or the English way: « 1 234,5 » (spaces or no-break spaces
-- between thousands, decimal comma), « 1234.5 »; a dot alone is a decimal point.
CREATE OR REPLACE TEMP MACRO obs_digits(t) AS
    regexp_replace(t, '[ \t\x{00A0}\x{202F}'']', '', 'g');
CREATE OR REPLACE TEMP MACRO obs_number(t) AS
    TRY_CAST(CASE WHEN contains(obs_digits(t), ',')
                  THEN replace(replace(obs_digits(t), '.', ''), ',', '.')
                  ELSE obs_digits(t) END AS DOUBLE);

-- Every code a territory can be given by, and the territory it designates: official codes,
-- arrondissements and communes déléguées or associées (commune_aliases), former codes of
-- communes merged since or whose code changed (commune_history: 71131, Ciel, is in
-- Verdun-Ciel, 71566), codes that lost their leading zeros (« 1001 » for 01001, « 1 » for
-- département 01) when unambiguous. The current COG wins over the history.
CREATE OR REPLACE TEMP TABLE territory_lookup AS
WITH official AS (
    SELECT level, code AS given, code, 'code officiel' AS how FROM territories
    UNION ALL
    -- Aggregates of INSEE tables: France de province, France métropolitaine.
    SELECT 'zone', code, code, 'code officiel' FROM (VALUES ('P'), ('M')) AS z(code)
    UNION ALL
    SELECT 'commune', a.code, a.commune_code,
           CASE a.kind WHEN 'ARM' THEN 'arrondissement municipal'
                       WHEN 'COMD' THEN 'commune déléguée' ELSE 'commune associée' END
    FROM raw_ref_commune_aliases AS a
    WHERE a.commune_code IN (SELECT code FROM territories WHERE level = 'commune')
      AND a.code NOT IN (SELECT code FROM territories WHERE level = 'commune')
    UNION ALL
    SELECT 'commune', h.code, h.commune_code, 'ancienne commune (fusion ou changement de code)'
    FROM raw_ref_commune_history AS h
    WHERE h.commune_code IN (SELECT code FROM territories WHERE level = 'commune')
      AND h.code NOT IN (SELECT code FROM territories WHERE level = 'commune')
      AND h.code NOT IN (SELECT code FROM raw_ref_commune_aliases)
), stripped AS (
    SELECT level, ltrim(given, '0') AS given, code, how || ', zéros initiaux restaurés' AS how
    FROM official
    WHERE given LIKE '0%' AND ltrim(given, '0') <> ''
)
SELECT * FROM official
UNION ALL
SELECT s.* FROM stripped AS s
WHERE NOT EXISTS (SELECT 1 FROM official AS o WHERE o.level = s.level AND o.given = s.given)
QUALIFY count(*) OVER (PARTITION BY s.level, s.given) = 1;
