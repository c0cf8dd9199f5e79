-- Marts: facts at the finest grain (commune × year × family × NAF sous-classe).
CREATE OR REPLACE TABLE ess_facts AS
SELECT * FROM stg_ess_facts ORDER BY year, commune_code, family_code, naf_code;
COMMENT ON TABLE ess_facts IS 'Établissements employeurs de l''ESS par commune, année, famille et sous-classe NAF : nombre, postes salariés au 31/12, ETP, rémunérations brutes, et valeurs du plus grand établissement (pour le secret statistique).';
COMMENT ON COLUMN ess_facts.establishments IS 'Établissements employeurs.';
COMMENT ON COLUMN ess_facts.employees IS 'Postes salariés au 31 décembre.';
COMMENT ON COLUMN ess_facts.fte IS 'Équivalents temps plein.';
COMMENT ON COLUMN ess_facts.gross_wages IS 'Rémunérations brutes annuelles (euros).';
COMMENT ON COLUMN ess_facts.top_employees IS 'Postes du plus grand établissement de la cellule.';

CREATE OR REPLACE TABLE ess_size_facts AS
SELECT * FROM stg_ess_size_facts ORDER BY year, commune_code, size_class;
COMMENT ON TABLE ess_size_facts IS 'Établissements employeurs de l''ESS par commune, année et tranche de taille (postes salariés au 31/12) : mêmes mesures que ess_facts ; la somme des tranches égale celle des familles.';

CREATE OR REPLACE TABLE employment_totals AS
SELECT * FROM stg_employment_totals ORDER BY year, commune_code, a88_code;
COMMENT ON TABLE employment_totals IS 'Emploi salarié hors ESS par commune, année et division A88 : privé hors ESS et public (établissements, postes, ETP, rémunérations).';
