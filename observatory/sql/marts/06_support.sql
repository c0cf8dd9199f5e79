-- Marts: support structures by territory, progress of the regional ESS plan, events by
-- département. Distances to structures are computed in geopandas (observatory/support/distances.py).

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
COMMENT ON COLUMN support_structures_by_territory.level IS 'Niveau du territoire : france, region, departement, epci ou commune.';
COMMENT ON COLUMN support_structures_by_territory.code IS 'Code officiel du territoire (texte).';
COMMENT ON COLUMN support_structures_by_territory.structure_type IS 'Type de structure : incubateur, pepiniere, dla, cress, ptce, tiers_lieu, autre.';
COMMENT ON COLUMN support_structures_by_territory.structures IS 'Structures de ce type ouvertes dans le territoire.';
COMMENT ON COLUMN support_structures_by_territory.demo_structures IS 'Dont structures fictives des données de démonstration.';

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
COMMENT ON COLUMN plan_indicator_progress.action_code IS 'Action mesurée.';
COMMENT ON COLUMN plan_indicator_progress.axis_code IS 'Axe du plan de l''action.';
COMMENT ON COLUMN plan_indicator_progress.action_title IS 'Intitulé de l''action.';
COMMENT ON COLUMN plan_indicator_progress.indicator IS 'Intitulé de l''indicateur.';
COMMENT ON COLUMN plan_indicator_progress.unit IS 'Unité de la mesure.';
COMMENT ON COLUMN plan_indicator_progress.baseline IS 'Valeur initiale.';
COMMENT ON COLUMN plan_indicator_progress.target IS 'Valeur cible.';
COMMENT ON COLUMN plan_indicator_progress.achieved IS 'Dernière valeur atteinte mesurée ; vide si aucune ne l''est encore.';
COMMENT ON COLUMN plan_indicator_progress.measured_on IS 'Date de cette mesure.';
COMMENT ON COLUMN plan_indicator_progress.progress_pct IS 'Avancement, en % du chemin de la valeur initiale à la cible (100 : cible atteinte) ; vide sans mesure.';
COMMENT ON COLUMN plan_indicator_progress.synthetic IS 'Vrai pour l''exemple de plan des données de démonstration.';

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
COMMENT ON COLUMN plan_events_by_departement.departement_code IS 'Département des événements ; vide pour un événement à l''échelle de la région.';
COMMENT ON COLUMN plan_events_by_departement.year IS 'Année des événements.';
COMMENT ON COLUMN plan_events_by_departement.event_type IS 'Type d''événement (Mois de l''ESS, Forum, Atelier…).';
COMMENT ON COLUMN plan_events_by_departement.events IS 'Nombre d''événements.';
