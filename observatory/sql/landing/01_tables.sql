-- Landing: stored tables that loads append to, kept across loads (created when missing).
-- A build starts a new file, so they start empty; `observatory ingest` fills them, and the
-- marts are recomputed from them after every load.
CREATE TABLE IF NOT EXISTS sources (
    source VARCHAR, file VARCHAR, vintage VARCHAR, file_sha256 VARCHAR,
    loaded_at TIMESTAMP WITH TIME ZONE, rows_read BIGINT, rows_loaded BIGINT,
    rows_rejected BIGINT, synthetic BOOLEAN
);
COMMENT ON TABLE sources IS 'Sources chargées : fichier, millésime, empreinte SHA-256, date de chargement, lignes lues, chargées et rejetées (lues = chargées + rejetées), données synthétiques ou non.';

CREATE TABLE IF NOT EXISTS rejects (
    source VARCHAR, file VARCHAR, line BIGINT, "column" VARCHAR, value VARCHAR, reason VARCHAR,
    loaded_at TIMESTAMP WITH TIME ZONE
);
COMMENT ON TABLE rejects IS 'Lignes rejetées au chargement : source, fichier, ligne, colonne, valeur et raison.';

CREATE TABLE IF NOT EXISTS load_stats (
    source VARCHAR, file VARCHAR, item VARCHAR, value BIGINT
);
COMMENT ON TABLE load_stats IS 'Comptes de chaque chargement : lignes hors champ, établissements à l''étranger, anciennes nomenclatures NAF, codes réparés…';

CREATE TABLE IF NOT EXISTS published_figures (
    source VARCHAR, level VARCHAR, code VARCHAR, year SMALLINT, family_code VARCHAR,
    sector_code VARCHAR, measure VARCHAR, value DOUBLE, marker VARCHAR, file VARCHAR
);
COMMENT ON TABLE published_figures IS 'Chiffres publiés par territoire (INSEE, Urssaf, CRESS) : source, niveau, code, année, famille, secteur, mesure, valeur ; marker garde le sens d''une valeur absente (s : secret, nd : non disponible, nc : non déterminé, ns : non significatif, - : néant, vide).';

CREATE TABLE IF NOT EXISTS sirene_establishments (
    vintage SMALLINT, siret BIGINT, siren INTEGER, commune_code VARCHAR, naf_code VARCHAR,
    staff_band VARCHAR, file VARCHAR
);
COMMENT ON TABLE sirene_establishments IS 'Établissements actifs employeurs de SIRENE, placés dans leur commune, NAF rév. 2 validée, par millésime du stock.';

CREATE TABLE IF NOT EXISTS legal_units (
    siren INTEGER, legal_category VARCHAR, ess_flag VARCHAR, vintage SMALLINT, file VARCHAR
);
COMMENT ON TABLE legal_units IS 'Unités légales actives de SIRENE : catégorie juridique et indicateur ESS (economieSocialeSolidaireUniteLegale).';

CREATE TABLE IF NOT EXISTS ess_france_sirens (siren INTEGER, file VARCHAR);
COMMENT ON TABLE ess_france_sirens IS 'SIREN de la liste des entreprises de l''ESS d''ESS France.';
