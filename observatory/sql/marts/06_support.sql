-- Marts: support structures by territory, progress of the regional ESS plan, events by
-- département. Distances to structures are computed in geopandas (observatory/support.py).

-- Structures open at the time of the computation, counted in every territory they lie in.
CREATE OR REPLACE TABLE support_structures_by_territory AS
SELECT tc.level, tc.code, s.structure_type, count(*)::INTEGER AS structures,
       count(*) FILTER (WHERE s.synthetic)::INTEGER AS demo_structures
FROM support_structures AS s
JOIN territory_communes AS tc USING (commune_code)
WHERE (s.opening_date IS NULL OR s.opening_date <= current_date)
  AND (s.closing_date IS NULL OR s.closing_date > current_date)
GROUP BY ALL
ORDER BY tc.level, tc.code, s.structure_type;
COMMENT ON TABLE support_structures_by_territory IS 'Structures d''accompagnement ouvertes à la date du calcul, par territoire (tous niveaux) et type ; demo_structures : celles des données de démonstration.';

-- The latest measure of every indicator (a measured value first, then the latest date).
CREATE OR REPLACE TABLE plan_indicator_progress AS
SELECT i.action_code, a.axis_code, a.title AS action_title, i.indicator, i.unit, i.baseline,
       i.target, i.achieved, i.measured_on,
       CASE WHEN i.achieved IS NOT NULL
            THEN 100.0 * (i.achieved - i.baseline) / (i.target - i.baseline) END AS progress_pct,
       i.synthetic
FROM plan_indicators AS i
LEFT JOIN plan_actions AS a USING (action_code)
QUALIFY row_number() OVER (PARTITION BY i.action_code, i.indicator
                           ORDER BY i.achieved IS NULL, i.measured_on DESC NULLS LAST) = 1
ORDER BY i.action_code, i.indicator;
COMMENT ON TABLE plan_indicator_progress IS 'Dernière mesure de chaque indicateur du plan : valeur initiale, cible, valeur atteinte, avancement en % du chemin entre la valeur initiale et la cible (100 = cible atteinte).';

CREATE OR REPLACE TABLE plan_events_by_departement AS
SELECT CASE WHEN e.territory_level = 'departement' THEN e.territory_code
            ELSE t.departement_code END AS departement_code,
       year(e.event_date) AS year, e.event_type, sum(e.events)::INTEGER AS events
FROM plan_events AS e
LEFT JOIN territories AS t ON t.level = e.territory_level AND t.code = e.territory_code
                         AND e.territory_level IN ('commune', 'epci')
GROUP BY ALL
ORDER BY departement_code NULLS LAST, year, e.event_type;
COMMENT ON TABLE plan_events_by_departement IS 'Événements par département, année et type (département du territoire de l''événement ; vide pour un événement à l''échelle de la région).';
