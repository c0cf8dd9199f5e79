-- Landing: the documented code lists of observatory/sirene_codes.py, refreshed at every build
-- and load, and the classification of unités légales that uses them.
CREATE OR REPLACE TABLE legal_categories AS SELECT * FROM raw_legal_categories ORDER BY legal_category;
COMMENT ON TABLE legal_categories IS 'Catégories juridiques INSEE (niveau III) et famille de l''ESS ; ess_by_status : ESS par statut (associations, coopératives, mutuelles, fondations). Une unité légale ESS d''une autre catégorie est une société commerciale de l''ESS (catégories 5…) ou « autre ».';
COMMENT ON COLUMN legal_categories.legal_category IS 'Catégorie juridique INSEE de niveau III (4 caractères).';
COMMENT ON COLUMN legal_categories.family_code IS 'Famille de l''ESS que donne la catégorie (ASSO, COOP, MUT, FOND) ; vide si elle n''en donne pas.';
COMMENT ON COLUMN legal_categories.ess_by_status IS 'Vrai si le statut seul range l''unité légale dans l''ESS (associations, coopératives, mutuelles, fondations).';

CREATE OR REPLACE TABLE staff_bands AS SELECT * FROM raw_staff_bands ORDER BY staff_band;
COMMENT ON TABLE staff_bands IS 'Tranches d''effectif salarié INSEE et effectif estimé retenu (milieu de la tranche ; 0 pour NN, 00 et une tranche vide).';
COMMENT ON COLUMN staff_bands.staff_band IS 'Code INSEE de la tranche d''effectif salarié (vide, NN, 00, 01, 02…).';
COMMENT ON COLUMN staff_bands.label IS 'Libellé de la tranche (« 3 à 5 salariés »).';
COMMENT ON COLUMN staff_bands.estimated_employees IS 'Postes salariés retenus pour un établissement de la tranche : le milieu de la tranche (0 pour NN, 00 et une tranche vide).';

-- ESS membership (rule used), family and public status of every unité légale loaded.
CREATE OR REPLACE VIEW legal_unit_classes AS
SELECT u.siren, u.legal_category,
       CASE WHEN u.ess_flag = 'O' THEN 'drapeau SIRENE'
            WHEN f.siren IS NOT NULL THEN 'liste ESS France'
            WHEN c.ess_by_status THEN 'statut juridique' END AS ess_rule,
       CASE WHEN c.family_code IS NOT NULL THEN c.family_code
            WHEN u.legal_category LIKE '5%' THEN 'SCESS'
            ELSE 'AUTRE' END AS family_code,
       left(u.legal_category, 1) IN ('4', '7') AS public_body
FROM legal_units AS u
LEFT JOIN (SELECT DISTINCT siren FROM ess_france_sirens) AS f USING (siren)
LEFT JOIN legal_categories AS c ON c.legal_category = u.legal_category;
COMMENT ON VIEW legal_unit_classes IS 'Unités légales classées : règle d''appartenance à l''ESS (drapeau SIRENE, liste ESS France, statut juridique ; vide : hors ESS), famille (si ESS) et personne morale de droit public.';
COMMENT ON COLUMN legal_unit_classes.siren IS 'SIREN de l''unité légale, rangé comme un nombre.';
COMMENT ON COLUMN legal_unit_classes.legal_category IS 'Catégorie juridique INSEE de niveau III.';
COMMENT ON COLUMN legal_unit_classes.ess_rule IS 'Règle qui range l''unité légale dans l''ESS, la première qui s''applique : « drapeau SIRENE », « liste ESS France » ou « statut juridique » ; vide : hors ESS.';
COMMENT ON COLUMN legal_unit_classes.family_code IS 'Famille de l''ESS : celle du statut, sinon SCESS (société commerciale de l''ESS) pour une société, sinon AUTRE ; n''a de sens que pour une unité de l''ESS.';
COMMENT ON COLUMN legal_unit_classes.public_body IS 'Vrai pour une personne morale de droit public (catégories juridiques 4 et 7), dont les emplois comptent dans l''emploi public.';
