-- Landing: the directory of support structures and the regional ESS plan, kept across loads.
-- A build stores the embedded structures (and, with the demo, demo structures and the example
-- plan); `observatory ingest` adds the files of the templates (docs/support.md), a line
-- replacing the stored one with the same key.
CREATE TABLE IF NOT EXISTS support_structures (
    structure_id VARCHAR, name VARCHAR, structure_type VARCHAR, commune_code VARCHAR,
    latitude DOUBLE, longitude DOUBLE, phase_emergence BOOLEAN, phase_creation BOOLEAN,
    phase_post_creation BOOLEAN, phase_changement_echelle BOOLEAN, opening_date DATE,
    opening_precision VARCHAR, closing_date DATE, source VARCHAR, synthetic BOOLEAN,
    file VARCHAR, line BIGINT, loaded_at TIMESTAMP WITH TIME ZONE
);
COMMENT ON TABLE support_structures IS 'Annuaire des structures d''accompagnement de l''ESS : incubateurs, pépinières, DLA, CRESS, PTCE, tiers-lieux ; une ligne par structure (ou par site).';
COMMENT ON COLUMN support_structures.structure_id IS 'Identifiant de la structure (colonne identifiant du modèle) ; un nouveau chargement remplace la structure de même identifiant.';
COMMENT ON COLUMN support_structures.structure_type IS 'Type : incubateur, pepiniere, dla, cress, ptce, tiers_lieu, autre.';
COMMENT ON COLUMN support_structures.commune_code IS 'Code INSEE de la commune où se trouve la structure.';
COMMENT ON COLUMN support_structures.latitude IS 'Latitude WGS 84 si connue ; sinon la structure est placée au point de référence de sa commune.';
COMMENT ON COLUMN support_structures.longitude IS 'Longitude WGS 84 si connue.';
COMMENT ON COLUMN support_structures.phase_emergence IS 'Accompagne l''émergence des projets.';
COMMENT ON COLUMN support_structures.phase_creation IS 'Accompagne la création.';
COMMENT ON COLUMN support_structures.phase_post_creation IS 'Accompagne l''après-création (0-3 ans).';
COMMENT ON COLUMN support_structures.phase_changement_echelle IS 'Accompagne le changement d''échelle.';
COMMENT ON COLUMN support_structures.opening_date IS 'Date d''ouverture (premier jour de l''année ou du mois quand seule l''année ou le mois est connu).';
COMMENT ON COLUMN support_structures.opening_precision IS 'Précision de la date d''ouverture : année, mois ou jour.';
COMMENT ON COLUMN support_structures.closing_date IS 'Date de fermeture ; une structure fermée ne compte plus dans les distances.';
COMMENT ON COLUMN support_structures.source IS 'Document qui cite la structure.';
COMMENT ON COLUMN support_structures.synthetic IS 'Vrai pour une structure fictive des données de démonstration.';
COMMENT ON COLUMN support_structures.file IS 'Fichier d''où vient la ligne (annuaire intégré, fichier chargé ou générateur de démonstration).';
COMMENT ON COLUMN support_structures.line IS 'Ligne du fichier (l''en-tête est la ligne 1).';

CREATE TABLE IF NOT EXISTS plan_axes (
    axis_code VARCHAR, title VARCHAR, description VARCHAR, synthetic BOOLEAN, file VARCHAR,
    line BIGINT, loaded_at TIMESTAMP WITH TIME ZONE
);
COMMENT ON TABLE plan_axes IS 'Axes (priorités) du plan régional de l''ESS : code, intitulé, description.';

CREATE TABLE IF NOT EXISTS plan_actions (
    action_code VARCHAR, axis_code VARCHAR, title VARCHAR, lead_partner VARCHAR,
    territory_level VARCHAR, territory_code VARCHAR, status VARCHAR, start_date DATE,
    end_date DATE, budget_eur DOUBLE, synthetic BOOLEAN, file VARCHAR, line BIGINT,
    loaded_at TIMESTAMP WITH TIME ZONE
);
COMMENT ON TABLE plan_actions IS 'Actions du plan régional de l''ESS : axe, pilote, territoire, statut, dates, budget.';
COMMENT ON COLUMN plan_actions.status IS 'Statut : a_venir, en_cours, realisee, reportee, abandonnee.';
COMMENT ON COLUMN plan_actions.territory_level IS 'Niveau du territoire de l''action (region, departement, epci, commune) ; vide : tout le territoire du plan.';
COMMENT ON COLUMN plan_actions.budget_eur IS 'Budget en euros, s''il est connu.';

CREATE TABLE IF NOT EXISTS plan_indicators (
    action_code VARCHAR, indicator VARCHAR, unit VARCHAR, baseline DOUBLE, target DOUBLE,
    achieved DOUBLE, measured_on DATE, synthetic BOOLEAN, file VARCHAR, line BIGINT,
    loaded_at TIMESTAMP WITH TIME ZONE
);
COMMENT ON TABLE plan_indicators IS 'Indicateurs des actions : valeur initiale, cible, valeur atteinte à la date de mesure (une ligne par mesure).';

CREATE TABLE IF NOT EXISTS plan_events (
    event_id VARCHAR, title VARCHAR, event_type VARCHAR, event_date DATE,
    date_precision VARCHAR, territory_level VARCHAR, territory_code VARCHAR, events INTEGER,
    axis_code VARCHAR, synthetic BOOLEAN, file VARCHAR, line BIGINT,
    loaded_at TIMESTAMP WITH TIME ZONE
);
COMMENT ON TABLE plan_events IS 'Événements (Mois de l''ESS…) par territoire ; events : nombre d''événements que la ligne compte (par exemple tous ceux d''un département).';
