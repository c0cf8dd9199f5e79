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

CREATE OR REPLACE TABLE sirene_files AS
SELECT file, year, count(*) AS establishments,
       count(*) FILTER (NOT unit_known) AS without_legal_unit
FROM stg_sirene_classified
GROUP BY ALL ORDER BY ALL;
COMMENT ON TABLE sirene_files IS 'Établissements SIRENE actifs employeurs de chaque fichier StockEtablissement du stock en place, et ceux dont l''unité légale est inconnue (non classés : chargez StockUniteLegale du même millésime).';
