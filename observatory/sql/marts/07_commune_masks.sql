-- Statistical secrecy of the communes, solved once per build (observatory.indicators
-- .store_commune_masks) instead of on each département's first portrait: one row per
-- département and year, each measure's masks of the département's commune block packed as bits
-- (zlib). Recreated empty whenever the marts are recomputed, so masks solved on older facts are
-- never read: after `observatory ingest`, portraits solve them on first use.
CREATE OR REPLACE TABLE commune_masks (
    departement_code VARCHAR NOT NULL,
    year INTEGER NOT NULL,
    cells INTEGER NOT NULL,
    establishments BLOB NOT NULL,
    employees BLOB NOT NULL,
    fte BLOB NOT NULL,
    gross_wages BLOB NOT NULL,
    PRIMARY KEY (departement_code, year)
);
COMMENT ON TABLE commune_masks IS 'Secret statistique des communes résolu à la construction : pour chaque département et année, les cellules masquées du bloc de ses communes (établissements, effectifs, ETP, masse salariale), en bits compressés.';
COMMENT ON COLUMN commune_masks.departement_code IS 'Département dont les communes sont protégées.';
COMMENT ON COLUMN commune_masks.year IS 'Année des chiffres protégés.';
COMMENT ON COLUMN commune_masks.cells IS 'Nombre de cellules du bloc du département (ses communes, les EPCI entièrement inclus et lui-même, par famille, secteur, tranche…).';
COMMENT ON COLUMN commune_masks.establishments IS 'Cellules masquées pour le nombre d''établissements, en bits compressés (lus par l''observatoire, pas par un lecteur).';
COMMENT ON COLUMN commune_masks.employees IS 'Cellules masquées pour les postes salariés, en bits compressés.';
COMMENT ON COLUMN commune_masks.fte IS 'Cellules masquées pour les ETP, en bits compressés.';
COMMENT ON COLUMN commune_masks.gross_wages IS 'Cellules masquées pour les rémunérations brutes, en bits compressés.';
