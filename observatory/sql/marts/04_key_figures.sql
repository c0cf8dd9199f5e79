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
