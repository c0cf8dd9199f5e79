-- Marts: coverage of the SIRENE establishments loaded.
CREATE OR REPLACE TABLE sirene_coverage AS
SELECT year, count(*) AS establishments,
       count(*) FILTER (NOT unit_known) AS without_legal_unit,
       count(*) FILTER (unit_known AND ess_rule IS NOT NULL) AS ess_establishments,
       count(*) FILTER (ess_rule = 'drapeau SIRENE') AS ess_by_flag,
       count(*) FILTER (ess_rule = 'liste ESS France') AS ess_by_list,
       count(*) FILTER (ess_rule = 'statut juridique') AS ess_by_status
FROM stg_sirene_classified
GROUP BY year ORDER BY year;
COMMENT ON TABLE sirene_coverage IS 'Établissements SIRENE actifs employeurs par millésime : sans unité légale connue (non classés), ESS et règle d''appartenance utilisée (drapeau SIRENE, liste ESS France, statut juridique).';
COMMENT ON COLUMN sirene_coverage.year IS 'Millésime du stock SIRENE.';
COMMENT ON COLUMN sirene_coverage.establishments IS 'Établissements actifs employeurs chargés.';
COMMENT ON COLUMN sirene_coverage.without_legal_unit IS 'Établissements dont l''unité légale n''est pas chargée : ils ne sont comptés dans aucun chiffre.';
COMMENT ON COLUMN sirene_coverage.ess_establishments IS 'Établissements de l''ESS, toutes règles confondues.';
COMMENT ON COLUMN sirene_coverage.ess_by_flag IS 'Établissements de l''ESS d''après le drapeau ESS de SIRENE.';
COMMENT ON COLUMN sirene_coverage.ess_by_list IS 'Établissements de l''ESS d''après la liste d''ESS France seulement.';
COMMENT ON COLUMN sirene_coverage.ess_by_status IS 'Établissements de l''ESS d''après leur statut juridique seulement.';

CREATE OR REPLACE TABLE sirene_files AS
SELECT file, year, count(*) AS establishments,
       count(*) FILTER (NOT unit_known) AS without_legal_unit
FROM stg_sirene_classified
GROUP BY ALL ORDER BY ALL;
COMMENT ON TABLE sirene_files IS 'Établissements SIRENE actifs employeurs de chaque fichier StockEtablissement du stock en place, et ceux dont l''unité légale est inconnue (non classés : chargez StockUniteLegale du même millésime).';
COMMENT ON COLUMN sirene_files.file IS 'Fichier StockEtablissement.';
COMMENT ON COLUMN sirene_files.year IS 'Millésime du stock.';
COMMENT ON COLUMN sirene_files.establishments IS 'Établissements actifs employeurs du fichier.';
COMMENT ON COLUMN sirene_files.without_legal_unit IS 'Établissements du fichier dont l''unité légale n''est pas chargée (non classés).';
