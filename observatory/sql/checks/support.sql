-- Checks of the directory and the plan: identifiers are unique, structures lie in known
-- communes, and every action, indicator and event refers to a loaded axis or action (files
-- of one `observatory ingest` call may come in any order: the references are checked here).
SELECT 'support_structures : identifiant en double ' || structure_id AS problem
FROM support_structures GROUP BY structure_id HAVING count(*) > 1
UNION ALL
SELECT 'support_structures : commune inconnue ' || commune_code || ' (' || file || ', ligne '
       || coalesce(line::VARCHAR, '?') || ')'
FROM support_structures
WHERE commune_code NOT IN (SELECT code FROM territories WHERE level = 'commune')
UNION ALL
SELECT file || ', ligne ' || line || ', colonne axe, valeur « ' || axis_code
       || ' » : axe absent de plan_axes (chargez le fichier des axes dans le même appel ou avant)'
FROM plan_actions WHERE axis_code NOT IN (SELECT axis_code FROM plan_axes)
UNION ALL
SELECT file || ', ligne ' || line || ', colonne action, valeur « ' || action_code
       || ' » : action absente de plan_actions (chargez le fichier des actions dans le même appel ou avant)'
FROM plan_indicators WHERE action_code NOT IN (SELECT action_code FROM plan_actions)
UNION ALL
SELECT file || ', ligne ' || line || ', colonne axe, valeur « ' || axis_code
       || ' » : axe absent de plan_axes'
FROM plan_events
WHERE axis_code IS NOT NULL AND axis_code NOT IN (SELECT axis_code FROM plan_axes);
