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
COMMENT ON COLUMN support_structures.name IS 'Nom de la structure.';
COMMENT ON COLUMN support_structures.loaded_at IS 'Date et heure du chargement (temps universel).';

CREATE TABLE IF NOT EXISTS plan_axes (
    axis_code VARCHAR, title VARCHAR, description VARCHAR, synthetic BOOLEAN, file VARCHAR,
    line BIGINT, loaded_at TIMESTAMP WITH TIME ZONE
);
COMMENT ON TABLE plan_axes IS 'Axes (priorités) du plan régional de l''ESS : code, intitulé, description.';
COMMENT ON COLUMN plan_axes.axis_code IS 'Code de l''axe (1, 2…).';
COMMENT ON COLUMN plan_axes.title IS 'Intitulé de l''axe.';
COMMENT ON COLUMN plan_axes.description IS 'Description de l''axe.';
COMMENT ON COLUMN plan_axes.synthetic IS 'Vrai pour l''exemple de plan des données de démonstration.';
COMMENT ON COLUMN plan_axes.file IS 'Fichier d''où vient la ligne.';
COMMENT ON COLUMN plan_axes.line IS 'Ligne du fichier (l''en-tête est la ligne 1).';
COMMENT ON COLUMN plan_axes.loaded_at IS 'Date et heure du chargement (temps universel).';

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
COMMENT ON COLUMN plan_actions.action_code IS 'Code de l''action (1.1, 1.2…), unique dans le plan.';
COMMENT ON COLUMN plan_actions.axis_code IS 'Axe du plan auquel l''action appartient.';
COMMENT ON COLUMN plan_actions.title IS 'Intitulé de l''action.';
COMMENT ON COLUMN plan_actions.lead_partner IS 'Pilote de l''action (CRESS, Région, un réseau…).';
COMMENT ON COLUMN plan_actions.territory_code IS 'Code officiel du territoire de l''action ; vide : tout le territoire du plan.';
COMMENT ON COLUMN plan_actions.start_date IS 'Date de début.';
COMMENT ON COLUMN plan_actions.end_date IS 'Date de fin (prévue ou effective).';
COMMENT ON COLUMN plan_actions.synthetic IS 'Vrai pour l''exemple de plan des données de démonstration.';
COMMENT ON COLUMN plan_actions.file IS 'Fichier d''où vient la ligne.';
COMMENT ON COLUMN plan_actions.line IS 'Ligne du fichier (l''en-tête est la ligne 1).';
COMMENT ON COLUMN plan_actions.loaded_at IS 'Date et heure du chargement (temps universel).';

CREATE TABLE IF NOT EXISTS plan_indicators (
    action_code VARCHAR, indicator VARCHAR, unit VARCHAR, baseline DOUBLE, target DOUBLE,
    achieved DOUBLE, measured_on DATE, synthetic BOOLEAN, file VARCHAR, line BIGINT,
    loaded_at TIMESTAMP WITH TIME ZONE
);
COMMENT ON TABLE plan_indicators IS 'Indicateurs des actions : valeur initiale, cible, valeur atteinte à la date de mesure (une ligne par mesure).';
COMMENT ON COLUMN plan_indicators.action_code IS 'Action mesurée par l''indicateur.';
COMMENT ON COLUMN plan_indicators.indicator IS 'Intitulé de l''indicateur.';
COMMENT ON COLUMN plan_indicators.unit IS 'Unité de la mesure (événements, structures, euros…).';
COMMENT ON COLUMN plan_indicators.baseline IS 'Valeur initiale, au début de l''action.';
COMMENT ON COLUMN plan_indicators.target IS 'Valeur cible.';
COMMENT ON COLUMN plan_indicators.achieved IS 'Valeur atteinte à la date de mesure ; vide si elle n''est pas encore mesurée.';
COMMENT ON COLUMN plan_indicators.measured_on IS 'Date de la mesure.';
COMMENT ON COLUMN plan_indicators.synthetic IS 'Vrai pour l''exemple de plan des données de démonstration.';
COMMENT ON COLUMN plan_indicators.file IS 'Fichier d''où vient la ligne.';
COMMENT ON COLUMN plan_indicators.line IS 'Ligne du fichier (l''en-tête est la ligne 1).';
COMMENT ON COLUMN plan_indicators.loaded_at IS 'Date et heure du chargement (temps universel).';

CREATE TABLE IF NOT EXISTS plan_events (
    event_id VARCHAR, title VARCHAR, event_type VARCHAR, event_date DATE,
    date_precision VARCHAR, territory_level VARCHAR, territory_code VARCHAR, events INTEGER,
    axis_code VARCHAR, synthetic BOOLEAN, file VARCHAR, line BIGINT,
    loaded_at TIMESTAMP WITH TIME ZONE
);
COMMENT ON TABLE plan_events IS 'Événements (Mois de l''ESS…) par territoire ; events : nombre d''événements que la ligne compte (par exemple tous ceux d''un département).';
COMMENT ON COLUMN plan_events.event_id IS 'Identifiant de l''événement, unique.';
COMMENT ON COLUMN plan_events.title IS 'Intitulé de l''événement.';
COMMENT ON COLUMN plan_events.event_type IS 'Type d''événement (Mois de l''ESS, Forum, Atelier, Rencontre…).';
COMMENT ON COLUMN plan_events.event_date IS 'Date de l''événement (premier jour du mois quand seul le mois est connu).';
COMMENT ON COLUMN plan_events.date_precision IS 'Précision de la date : jour ou mois.';
COMMENT ON COLUMN plan_events.territory_level IS 'Niveau du territoire de l''événement (region, departement, epci, commune).';
COMMENT ON COLUMN plan_events.territory_code IS 'Code officiel du territoire de l''événement.';
COMMENT ON COLUMN plan_events.events IS 'Nombre d''événements que la ligne compte (par exemple tous ceux d''un département pendant le Mois de l''ESS).';
COMMENT ON COLUMN plan_events.axis_code IS 'Axe du plan auquel l''événement se rattache ; vide s''il n''y en a pas.';
COMMENT ON COLUMN plan_events.synthetic IS 'Vrai pour les événements de l''exemple des données de démonstration.';
COMMENT ON COLUMN plan_events.file IS 'Fichier d''où vient la ligne.';
COMMENT ON COLUMN plan_events.line IS 'Ligne du fichier (l''en-tête est la ligne 1).';
COMMENT ON COLUMN plan_events.loaded_at IS 'Date et heure du chargement (temps universel).';
