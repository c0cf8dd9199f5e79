-- Staging: every territory at every level, from the reference geography.
-- Codes are text everywhere (2A/2B, 971-976, leading zeros kept).
CREATE OR REPLACE TEMP VIEW stg_territories AS
SELECT 'france' AS level, 'FR' AS code, 'France' AS name,
       NULL::VARCHAR AS region_code, NULL::VARCHAR AS departement_code,
       NULL::VARCHAR AS epci_code, NULL::VARCHAR AS epci_type,
       (SELECT sum(population) FROM raw_ref_communes)::BIGINT AS population
UNION ALL
SELECT 'region', code, name, code, NULL, NULL, NULL, population FROM raw_ref_regions
UNION ALL
SELECT 'departement', code, name, region_code, code, NULL, NULL, population
FROM raw_ref_departements
UNION ALL
SELECT 'epci', code, name, region_code, departement_code, code, epci_type, population
FROM raw_ref_epcis
UNION ALL
SELECT 'commune', c.code, c.name, c.region_code, c.departement_code, c.epci_code, e.epci_type,
       c.population
FROM raw_ref_communes AS c
LEFT JOIN raw_ref_epcis AS e ON e.code = c.epci_code;

-- Staging: which communes make up each territory (a commune belongs to itself).
CREATE OR REPLACE TEMP VIEW stg_territory_communes AS
SELECT 'commune' AS level, code, code AS commune_code FROM raw_ref_communes
UNION ALL
SELECT 'epci', epci_code, code FROM raw_ref_communes WHERE epci_code IS NOT NULL
UNION ALL
SELECT 'departement', departement_code, code FROM raw_ref_communes
UNION ALL
SELECT 'region', region_code, code FROM raw_ref_communes
UNION ALL
SELECT 'france', 'FR', code FROM raw_ref_communes;
COMMENT ON VIEW stg_territories IS 'Territoires de tous les niveaux tirés de la géographie de référence (France, régions, départements, EPCI, communes), codes en texte ; devient la table des territoires.';
COMMENT ON VIEW stg_territory_communes IS 'Communes composant chaque territoire (une commune se compte elle-même) ; devient la table des communes des territoires.';
