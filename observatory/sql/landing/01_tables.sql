-- Landing: stored tables that loads append to, kept across loads (created when missing).
-- A build starts a new file, so they start empty; `observatory ingest` fills them, and the
-- marts are recomputed from them after every load.
CREATE TABLE IF NOT EXISTS sources (
    source VARCHAR, file VARCHAR, vintage VARCHAR, file_sha256 VARCHAR,
    loaded_at TIMESTAMP WITH TIME ZONE, rows_read BIGINT, rows_loaded BIGINT,
    rows_rejected BIGINT, synthetic BOOLEAN
);
COMMENT ON TABLE sources IS 'Sources chargées : fichier, millésime, empreinte SHA-256, date de chargement, lignes lues, chargées et rejetées (lues = chargées + rejetées), données synthétiques ou non.';
COMMENT ON COLUMN sources.source IS 'Nature de la source : géographie de référence (« reference:… »), données de démonstration (« demo:… »), sirene, insee, urssaf, cress, liste d''ESS France, annuaire des structures d''accompagnement ou plan régional.';
COMMENT ON COLUMN sources.file IS 'Fichier lu, avec son chemin (pour les données de démonstration : le générateur et sa graine).';
COMMENT ON COLUMN sources.vintage IS 'Millésime de la source (année du stock SIRENE, période des données de démonstration…) ; vide s''il n''est pas connu.';
COMMENT ON COLUMN sources.file_sha256 IS 'Empreinte SHA-256 du fichier : deux chargements du même fichier ont la même empreinte.';
COMMENT ON COLUMN sources.loaded_at IS 'Date et heure du chargement (temps universel).';
COMMENT ON COLUMN sources.rows_read IS 'Lignes lues dans le fichier.';
COMMENT ON COLUMN sources.rows_loaded IS 'Lignes chargées dans l''entrepôt.';
COMMENT ON COLUMN sources.rows_rejected IS 'Lignes rejetées (le détail est dans la table des rejets) ; lues = chargées + rejetées.';
COMMENT ON COLUMN sources.synthetic IS 'Vrai pour des données de démonstration (fictives, à ne pas citer).';

CREATE TABLE IF NOT EXISTS rejects (
    source VARCHAR, file VARCHAR, line BIGINT, "column" VARCHAR, value VARCHAR, reason VARCHAR,
    loaded_at TIMESTAMP WITH TIME ZONE
);
COMMENT ON TABLE rejects IS 'Lignes rejetées au chargement : source, fichier, ligne, colonne, valeur et raison.';
COMMENT ON COLUMN rejects.source IS 'Source du fichier (sirene, insee, urssaf, cress, essfrance, structures, plan…).';
COMMENT ON COLUMN rejects.file IS 'Fichier d''où vient la ligne rejetée.';
COMMENT ON COLUMN rejects.line IS 'Numéro de la ligne dans le fichier (l''en-tête est la ligne 1).';
COMMENT ON COLUMN rejects."column" IS 'Colonne en cause, telle que le fichier la nomme.';
COMMENT ON COLUMN rejects.value IS 'Valeur refusée, telle qu''elle a été lue.';
COMMENT ON COLUMN rejects.reason IS 'Raison du rejet, en français.';
COMMENT ON COLUMN rejects.loaded_at IS 'Date et heure du chargement (temps universel).';

CREATE TABLE IF NOT EXISTS load_stats (
    source VARCHAR, file VARCHAR, item VARCHAR, value BIGINT
);
COMMENT ON TABLE load_stats IS 'Comptes de chaque chargement : lignes hors champ, établissements à l''étranger, anciennes nomenclatures NAF, codes réparés…';
COMMENT ON COLUMN load_stats.source IS 'Source du fichier compté (sirene, insee, urssaf, cress…).';
COMMENT ON COLUMN load_stats.file IS 'Fichier compté.';
COMMENT ON COLUMN load_stats.item IS 'Ce qui est compté : lignes dans le champ, hors champ (établissements fermés ou non employeurs), à l''étranger, anciennes nomenclatures NAF, codes réparés, rejetées, stock remplacé…';
COMMENT ON COLUMN load_stats.value IS 'Nombre de lignes (ou d''établissements) comptées.';

CREATE TABLE IF NOT EXISTS published_figures (
    source VARCHAR, level VARCHAR, code VARCHAR, year SMALLINT, family_code VARCHAR,
    sector_code VARCHAR, measure VARCHAR, value DOUBLE, marker VARCHAR, file VARCHAR
);
COMMENT ON TABLE published_figures IS 'Chiffres publiés par territoire (INSEE, Urssaf, CRESS) : source, niveau, code, année, famille, secteur, mesure, valeur ; marker garde le sens d''une valeur absente (s : secret, nd : non disponible, nc : non déterminé, ns : non significatif, - : néant, vide).';
COMMENT ON COLUMN published_figures.source IS 'Éditeur du chiffre : insee, urssaf ou cress.';
COMMENT ON COLUMN published_figures.level IS 'Niveau du territoire : france, region, departement, epci, commune, ou zone (regroupements propres à l''INSEE, qui ne sont pas repris).';
COMMENT ON COLUMN published_figures.code IS 'Code officiel du territoire, en texte (FR, 76, 34, 2A, 971, SIREN d''un EPCI, code commune INSEE).';
COMMENT ON COLUMN published_figures.year IS 'Année à laquelle se rapporte le chiffre.';
COMMENT ON COLUMN published_figures.family_code IS 'Famille de l''ESS (ASSO, COOP, MUT, FOND, AUTRE, SCESS), ESS pour toute l''ESS, HORS_ESS pour le reste de l''économie ; vide : sans distinction.';
COMMENT ON COLUMN published_figures.sector_code IS 'Secteur d''activité : section A21, division A88 ou sous-classe NAF rév. 2 ; vide : tous les secteurs.';
COMMENT ON COLUMN published_figures.measure IS 'Mesure telle que la source la nomme : libellé de l''indicateur de l''INSEE, nom de la colonne d''Urssaf, mesure du modèle de la CRESS (etablissements, postes_salaries…).';
COMMENT ON COLUMN published_figures.value IS 'Valeur publiée, dans l''unité de la mesure ; vide quand la source ne la donne pas (voir le marqueur).';
COMMENT ON COLUMN published_figures.marker IS 'Sens d''une valeur absente : s (secret statistique), nd (non disponible), nc (non déterminé), ns (non significatif), - (néant) ou vide.';
COMMENT ON COLUMN published_figures.file IS 'Fichier d''où vient le chiffre.';

CREATE TABLE IF NOT EXISTS sirene_establishments (
    vintage SMALLINT, siret BIGINT, siren INTEGER, commune_code VARCHAR, naf_code VARCHAR,
    staff_band VARCHAR, file VARCHAR
);
COMMENT ON TABLE sirene_establishments IS 'Établissements actifs employeurs de SIRENE, placés dans leur commune, NAF rév. 2 validée, par millésime du stock.';
COMMENT ON COLUMN sirene_establishments.vintage IS 'Millésime du stock SIRENE (année) ; un stock plus récent remplace le précédent.';
COMMENT ON COLUMN sirene_establishments.siret IS 'SIRET de l''établissement (14 chiffres), rangé comme un nombre : les zéros de tête ne s''affichent pas.';
COMMENT ON COLUMN sirene_establishments.siren IS 'SIREN de l''unité légale de l''établissement (9 chiffres), rangé comme un nombre.';
COMMENT ON COLUMN sirene_establishments.commune_code IS 'Code INSEE de la commune actuelle de l''établissement.';
COMMENT ON COLUMN sirene_establishments.naf_code IS 'Activité principale de l''établissement, sous-classe NAF rév. 2 (88.10A).';
COMMENT ON COLUMN sirene_establishments.staff_band IS 'Tranche d''effectif salarié de SIRENE (codes INSEE 00, 01, 02… ; vide : non renseignée).';
COMMENT ON COLUMN sirene_establishments.file IS 'Fichier StockEtablissement d''où vient l''établissement.';

CREATE TABLE IF NOT EXISTS legal_units (
    siren INTEGER, legal_category VARCHAR, ess_flag VARCHAR, vintage SMALLINT, file VARCHAR
);
COMMENT ON TABLE legal_units IS 'Unités légales actives de SIRENE : catégorie juridique et indicateur ESS (economieSocialeSolidaireUniteLegale).';
COMMENT ON COLUMN legal_units.siren IS 'SIREN de l''unité légale (9 chiffres), rangé comme un nombre.';
COMMENT ON COLUMN legal_units.legal_category IS 'Catégorie juridique INSEE de niveau III (9220 : association déclarée).';
COMMENT ON COLUMN legal_units.ess_flag IS 'Appartenance à l''ESS déclarée dans SIRENE : O (oui), N (non), vide (non renseignée).';
COMMENT ON COLUMN legal_units.vintage IS 'Millésime du stock SIRENE (année).';
COMMENT ON COLUMN legal_units.file IS 'Fichier StockUniteLegale d''où vient l''unité légale.';

CREATE TABLE IF NOT EXISTS ess_france_sirens (siren INTEGER, file VARCHAR);
COMMENT ON TABLE ess_france_sirens IS 'SIREN de la liste des entreprises de l''ESS d''ESS France.';
COMMENT ON COLUMN ess_france_sirens.siren IS 'SIREN d''une entreprise de la liste de l''ESS d''ESS France, rangé comme un nombre.';
COMMENT ON COLUMN ess_france_sirens.file IS 'Fichier de la liste d''où vient le SIREN.';
