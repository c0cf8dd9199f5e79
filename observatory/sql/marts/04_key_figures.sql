-- Marts: the documented key figures view.
CREATE OR REPLACE VIEW key_figures AS
SELECT t.level, t.code, t.name, e.year,
       e.ess_establishments,
       e.ess_employees,
       (e.ess_employees + e.private_non_ess_employees + e.public_employees) AS total_employees,
       CASE WHEN (e.ess_employees + e.private_non_ess_employees + e.public_employees) > 0
            THEN 100.0 * e.ess_employees
                 / (e.ess_employees + e.private_non_ess_employees + e.public_employees)
       END AS ess_share_pct
FROM employment_by_territory AS e
JOIN territories AS t USING (level, code);
COMMENT ON VIEW key_figures IS 'Chiffres clés par niveau, territoire et année : établissements employeurs de l''ESS, postes salariés de l''ESS, emploi salarié total, part de l''ESS dans l''emploi salarié (%).';
COMMENT ON COLUMN key_figures.level IS 'Niveau du territoire : france, region, departement, epci ou commune.';
COMMENT ON COLUMN key_figures.code IS 'Code officiel du territoire (texte).';
COMMENT ON COLUMN key_figures.name IS 'Nom du territoire, avec son article.';
COMMENT ON COLUMN key_figures.year IS 'Année (au 31 décembre).';
COMMENT ON COLUMN key_figures.ess_establishments IS 'Établissements employeurs de l''ESS ; chiffre brut, sans secret statistique : à ne pas publier tel quel.';
COMMENT ON COLUMN key_figures.ess_employees IS 'Postes salariés de l''ESS au 31 décembre ; chiffre brut, sans secret statistique.';
COMMENT ON COLUMN key_figures.total_employees IS 'Emploi salarié total (ESS, privé hors ESS et public), en postes au 31 décembre.';
COMMENT ON COLUMN key_figures.ess_share_pct IS 'Part de l''ESS dans l''emploi salarié, en % ; vide sans emploi salarié ; chiffre brut, sans secret statistique.';
