-- Marts: facts at the finest grain (commune × year × family × NAF sous-classe).
CREATE OR REPLACE TABLE ess_facts AS
SELECT * FROM stg_ess_facts ORDER BY year, commune_code, family_code, naf_code;
COMMENT ON TABLE ess_facts IS 'Établissements employeurs de l''ESS par commune, année, famille et sous-classe NAF : nombre, postes salariés au 31/12, ETP, rémunérations brutes, et valeurs du plus grand établissement (pour le secret statistique).';
COMMENT ON COLUMN ess_facts.establishments IS 'Établissements employeurs.';
COMMENT ON COLUMN ess_facts.employees IS 'Postes salariés au 31 décembre.';
COMMENT ON COLUMN ess_facts.fte IS 'Équivalents temps plein.';
COMMENT ON COLUMN ess_facts.gross_wages IS 'Rémunérations brutes annuelles (euros).';
COMMENT ON COLUMN ess_facts.top_employees IS 'Postes du plus grand établissement de la cellule.';
COMMENT ON COLUMN ess_facts.commune_code IS 'Code INSEE de la commune.';
COMMENT ON COLUMN ess_facts.year IS 'Année (au 31 décembre).';
COMMENT ON COLUMN ess_facts.family_code IS 'Famille de l''ESS (ASSO, COOP, MUT, FOND, AUTRE, SCESS).';
COMMENT ON COLUMN ess_facts.naf_code IS 'Sous-classe NAF rév. 2 de l''activité principale des établissements.';
COMMENT ON COLUMN ess_facts.top_fte IS 'ETP du plus grand établissement de la cellule (pour le secret statistique) ; vide si la source ne les donne pas (SIRENE).';
COMMENT ON COLUMN ess_facts.top_wages IS 'Rémunérations brutes du plus grand établissement de la cellule, en euros (pour le secret statistique) ; vide si la source ne les donne pas (SIRENE).';
COMMENT ON COLUMN ess_facts.source IS 'Source des chiffres : demo (données de démonstration) ou sirene (estimation d''après le stock SIRENE, effectifs au milieu des tranches).';

CREATE OR REPLACE TABLE ess_size_facts AS
SELECT * FROM stg_ess_size_facts ORDER BY year, commune_code, size_class;
COMMENT ON TABLE ess_size_facts IS 'Établissements employeurs de l''ESS par commune, année et tranche de taille (postes salariés au 31/12) : mêmes mesures que ess_facts ; la somme des tranches égale celle des familles.';
COMMENT ON COLUMN ess_size_facts.commune_code IS 'Code INSEE de la commune.';
COMMENT ON COLUMN ess_size_facts.year IS 'Année (au 31 décembre).';
COMMENT ON COLUMN ess_size_facts.size_class IS 'Tranche de taille des établissements (0-9, 10-49, 50-249, 250+ postes salariés).';
COMMENT ON COLUMN ess_size_facts.establishments IS 'Établissements employeurs de l''ESS de la tranche ; chiffre brut, avant secret statistique.';
COMMENT ON COLUMN ess_size_facts.employees IS 'Postes salariés au 31 décembre ; pour SIRENE, estimés au milieu des tranches d''effectif, non arrondis.';
COMMENT ON COLUMN ess_size_facts.fte IS 'Équivalents temps plein ; vide si la source ne les donne pas (SIRENE).';
COMMENT ON COLUMN ess_size_facts.gross_wages IS 'Rémunérations brutes annuelles, en euros ; vide si la source ne les donne pas (SIRENE).';
COMMENT ON COLUMN ess_size_facts.top_employees IS 'Postes du plus grand établissement de la cellule (pour le secret statistique).';
COMMENT ON COLUMN ess_size_facts.top_fte IS 'ETP du plus grand établissement de la cellule (pour le secret statistique).';
COMMENT ON COLUMN ess_size_facts.top_wages IS 'Rémunérations brutes du plus grand établissement de la cellule, en euros (pour le secret statistique).';
COMMENT ON COLUMN ess_size_facts.source IS 'Source des chiffres : demo (données de démonstration) ou sirene (estimation d''après le stock SIRENE).';

CREATE OR REPLACE TABLE employment_totals AS
SELECT * FROM stg_employment_totals ORDER BY year, commune_code, a88_code;
COMMENT ON TABLE employment_totals IS 'Emploi salarié hors ESS par commune, année et division A88 : privé hors ESS et public (établissements, postes, ETP, rémunérations).';
COMMENT ON COLUMN employment_totals.commune_code IS 'Code INSEE de la commune.';
COMMENT ON COLUMN employment_totals.year IS 'Année (au 31 décembre).';
COMMENT ON COLUMN employment_totals.a88_code IS 'Division NAF (A88) de l''activité principale des établissements.';
COMMENT ON COLUMN employment_totals.private_non_ess_establishments IS 'Établissements employeurs privés hors ESS.';
COMMENT ON COLUMN employment_totals.private_non_ess_employees IS 'Postes salariés privés hors ESS au 31 décembre (pour SIRENE, estimés au milieu des tranches).';
COMMENT ON COLUMN employment_totals.private_non_ess_fte IS 'Équivalents temps plein privés hors ESS ; vide si la source ne les donne pas (SIRENE).';
COMMENT ON COLUMN employment_totals.private_non_ess_wages IS 'Rémunérations brutes privées hors ESS, en euros ; vide si la source ne les donne pas.';
COMMENT ON COLUMN employment_totals.public_establishments IS 'Établissements employeurs publics (personnes morales de droit public).';
COMMENT ON COLUMN employment_totals.public_employees IS 'Postes salariés publics au 31 décembre.';
COMMENT ON COLUMN employment_totals.public_fte IS 'Équivalents temps plein publics ; vide si la source ne les donne pas.';
COMMENT ON COLUMN employment_totals.public_wages IS 'Rémunérations brutes publiques, en euros ; vide si la source ne les donne pas.';
COMMENT ON COLUMN employment_totals.source IS 'Source des chiffres : demo (données de démonstration) ou sirene (estimation d''après le stock SIRENE).';
