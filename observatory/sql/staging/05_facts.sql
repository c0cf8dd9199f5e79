-- Staging: commune-level facts of every source, as the marts expect them.
CREATE OR REPLACE TEMP VIEW stg_ess_facts AS
SELECT * FROM stg_demo_ess_facts
UNION ALL BY NAME
SELECT * FROM stg_sirene_ess_facts;

CREATE OR REPLACE TEMP VIEW stg_employment_totals AS
SELECT * FROM stg_demo_employment_totals
UNION ALL BY NAME
SELECT * FROM stg_sirene_employment_totals;

CREATE OR REPLACE TEMP VIEW stg_ess_size_facts AS
SELECT * FROM stg_demo_ess_size_facts
UNION ALL BY NAME
SELECT * FROM stg_sirene_ess_size_facts;
COMMENT ON VIEW stg_ess_facts IS 'Faits de l''ESS de toutes les sources (démonstration et SIRENE), par commune, année, famille et sous-classe NAF.';
COMMENT ON VIEW stg_employment_totals IS 'Emploi hors ESS de toutes les sources, par commune, année et division A88.';
COMMENT ON VIEW stg_ess_size_facts IS 'Faits de l''ESS par tranche de taille, de toutes les sources.';
