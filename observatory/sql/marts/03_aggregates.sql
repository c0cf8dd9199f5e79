-- Marts: aggregation to every territory level, done once in the warehouse.

-- ESS by territory × year × family × A88 division × activity domain (a division split between
-- domains, such as 94, has one row per domain).
CREATE OR REPLACE TABLE ess_by_territory AS
SELECT tc.level, tc.code, f.year, f.family_code, s.a88_code, s.domain_code,
       sum(f.establishments)::INTEGER AS establishments,
       sum(f.employees)::DOUBLE AS employees,
       sum(f.fte) AS fte,
       sum(f.gross_wages)::BIGINT AS gross_wages,
       max(f.top_employees)::DOUBLE AS top_employees,
       max(f.top_fte) AS top_fte,
       max(f.top_wages) AS top_wages
FROM ess_facts AS f
JOIN sectors AS s USING (naf_code)
JOIN territory_communes AS tc USING (commune_code)
GROUP BY ALL
ORDER BY tc.level, tc.code, f.year, f.family_code, s.a88_code, s.domain_code;
COMMENT ON TABLE ess_by_territory IS 'ESS agrégée par territoire (tous niveaux), année, famille, division A88 et domaine d''activité, avec les valeurs du plus grand établissement.';
COMMENT ON COLUMN ess_by_territory.level IS 'Niveau du territoire : france, region, departement, epci ou commune.';
COMMENT ON COLUMN ess_by_territory.code IS 'Code officiel du territoire (texte).';
COMMENT ON COLUMN ess_by_territory.year IS 'Année (au 31 décembre).';
COMMENT ON COLUMN ess_by_territory.family_code IS 'Famille de l''ESS (ASSO, COOP, MUT, FOND, AUTRE, SCESS).';
COMMENT ON COLUMN ess_by_territory.a88_code IS 'Division NAF (A88).';
COMMENT ON COLUMN ess_by_territory.domain_code IS 'Domaine d''activité de l''ESS (la division 94 a deux lignes : 94.99Z et le reste).';
COMMENT ON COLUMN ess_by_territory.establishments IS 'Établissements employeurs de l''ESS ; somme brute, avant secret statistique : à ne pas publier telle quelle.';
COMMENT ON COLUMN ess_by_territory.employees IS 'Postes salariés de l''ESS au 31 décembre ; somme brute, avant secret statistique (pour SIRENE, estimée au milieu des tranches).';
COMMENT ON COLUMN ess_by_territory.fte IS 'Équivalents temps plein de l''ESS ; somme brute, avant secret statistique ; vide si la source ne les donne pas.';
COMMENT ON COLUMN ess_by_territory.gross_wages IS 'Rémunérations brutes annuelles de l''ESS, en euros ; somme brute, avant secret statistique ; vide si la source ne les donne pas.';
COMMENT ON COLUMN ess_by_territory.top_employees IS 'Postes du plus grand établissement de la cellule : sert à la règle de dominance du secret statistique (plus de 85 % du total).';
COMMENT ON COLUMN ess_by_territory.top_fte IS 'ETP du plus grand établissement de la cellule (règle de dominance du secret statistique).';
COMMENT ON COLUMN ess_by_territory.top_wages IS 'Rémunérations brutes du plus grand établissement de la cellule, en euros (règle de dominance du secret statistique).';

-- ESS by territory × year × size class.
CREATE OR REPLACE TABLE ess_size_by_territory AS
SELECT tc.level, tc.code, f.year, f.size_class,
       sum(f.establishments)::INTEGER AS establishments,
       sum(f.employees)::DOUBLE AS employees,
       sum(f.fte) AS fte,
       sum(f.gross_wages)::BIGINT AS gross_wages,
       max(f.top_employees)::DOUBLE AS top_employees,
       max(f.top_fte) AS top_fte,
       max(f.top_wages) AS top_wages
FROM ess_size_facts AS f
JOIN territory_communes AS tc USING (commune_code)
GROUP BY ALL
ORDER BY tc.level, tc.code, f.year, f.size_class;
COMMENT ON TABLE ess_size_by_territory IS 'ESS agrégée par territoire (tous niveaux), année et tranche de taille des établissements, avec les valeurs du plus grand établissement.';
COMMENT ON COLUMN ess_size_by_territory.level IS 'Niveau du territoire : france, region, departement, epci ou commune.';
COMMENT ON COLUMN ess_size_by_territory.code IS 'Code officiel du territoire (texte).';
COMMENT ON COLUMN ess_size_by_territory.year IS 'Année (au 31 décembre).';
COMMENT ON COLUMN ess_size_by_territory.size_class IS 'Tranche de taille des établissements (0-9, 10-49, 50-249, 250+ postes salariés).';
COMMENT ON COLUMN ess_size_by_territory.establishments IS 'Établissements employeurs de l''ESS de la tranche ; somme brute, avant secret statistique.';
COMMENT ON COLUMN ess_size_by_territory.employees IS 'Postes salariés au 31 décembre ; somme brute, avant secret statistique.';
COMMENT ON COLUMN ess_size_by_territory.fte IS 'Équivalents temps plein ; somme brute, avant secret statistique ; vide si la source ne les donne pas.';
COMMENT ON COLUMN ess_size_by_territory.gross_wages IS 'Rémunérations brutes annuelles, en euros ; somme brute, avant secret statistique ; vide si la source ne les donne pas.';
COMMENT ON COLUMN ess_size_by_territory.top_employees IS 'Postes du plus grand établissement de la cellule (règle de dominance du secret statistique).';
COMMENT ON COLUMN ess_size_by_territory.top_fte IS 'ETP du plus grand établissement de la cellule (règle de dominance du secret statistique).';
COMMENT ON COLUMN ess_size_by_territory.top_wages IS 'Rémunérations brutes du plus grand établissement de la cellule, en euros (règle de dominance du secret statistique).';

-- Employment of every territory and year, ESS and outside the ESS.
CREATE OR REPLACE TEMP TABLE tmp_employment_by_territory AS
WITH ess AS (
    SELECT level, code, year,
           sum(establishments) AS ess_establishments, sum(employees) AS ess_employees,
           sum(fte) AS ess_fte, sum(gross_wages) AS ess_wages,
           max(top_employees) AS ess_top_employees, max(top_fte) AS ess_top_fte,
           max(top_wages) AS ess_top_wages
    FROM ess_by_territory
    GROUP BY ALL
), other AS (
    SELECT tc.level, tc.code, t.year,
           sum(t.private_non_ess_establishments) AS private_non_ess_establishments,
           sum(t.private_non_ess_employees) AS private_non_ess_employees,
           sum(t.private_non_ess_fte) AS private_non_ess_fte,
           sum(t.private_non_ess_wages) AS private_non_ess_wages,
           sum(t.public_establishments) AS public_establishments,
           sum(t.public_employees) AS public_employees,
           sum(t.public_fte) AS public_fte,
           sum(t.public_wages) AS public_wages
    FROM employment_totals AS t
    JOIN territory_communes AS tc USING (commune_code)
    GROUP BY ALL
)
SELECT level, code, year,
       coalesce(ess_establishments, 0)::INTEGER AS ess_establishments,
       coalesce(ess_employees, 0)::DOUBLE AS ess_employees,
       coalesce(ess_fte, 0) AS ess_fte,
       coalesce(ess_wages, 0)::BIGINT AS ess_wages,
       coalesce(private_non_ess_establishments, 0)::INTEGER AS private_non_ess_establishments,
       coalesce(private_non_ess_employees, 0)::DOUBLE AS private_non_ess_employees,
       coalesce(private_non_ess_fte, 0) AS private_non_ess_fte,
       coalesce(private_non_ess_wages, 0)::BIGINT AS private_non_ess_wages,
       coalesce(public_establishments, 0)::INTEGER AS public_establishments,
       coalesce(public_employees, 0)::DOUBLE AS public_employees,
       coalesce(public_fte, 0) AS public_fte,
       coalesce(public_wages, 0)::BIGINT AS public_wages,
       coalesce(ess_top_employees, 0)::DOUBLE AS ess_top_employees,
       coalesce(ess_top_fte, 0) AS ess_top_fte,
       coalesce(ess_top_wages, 0)::BIGINT AS ess_top_wages
FROM ess FULL OUTER JOIN other USING (level, code, year);

-- Added columns: the largest ESS establishment (statistical secrecy), the part of the territory
-- inside métropoles (EPCI of type ME) and how many of its communes host an ESS employer.
CREATE OR REPLACE TABLE employment_by_territory AS
WITH communes AS (
    SELECT e.code AS commune_code, e.year, e.ess_establishments, e.ess_employees,
           e.ess_top_employees,
           e.ess_employees + e.private_non_ess_employees + e.public_employees AS total_employees,
           coalesce(t.epci_type = 'ME', false) AS in_metropole
    FROM tmp_employment_by_territory AS e
    JOIN territories AS t ON t.level = 'commune' AND t.code = e.code
    WHERE e.level = 'commune'
), by_territory AS (
    SELECT tc.level, tc.code, c.year,
           sum(c.ess_establishments) FILTER (WHERE c.in_metropole) AS metro_ess_establishments,
           sum(c.ess_employees) FILTER (WHERE c.in_metropole) AS metro_ess_employees,
           max(c.ess_top_employees) FILTER (WHERE c.in_metropole) AS metro_ess_top_employees,
           max(c.ess_top_employees) FILTER (WHERE NOT c.in_metropole) AS other_ess_top_employees,
           sum(c.total_employees) FILTER (WHERE c.in_metropole) AS metro_total_employees,
           count(*) FILTER (WHERE c.ess_establishments > 0) AS communes_with_ess
    FROM communes AS c
    JOIN territory_communes AS tc USING (commune_code)
    GROUP BY ALL
), commune_counts AS (
    SELECT level, code, count(*) AS communes FROM territory_communes GROUP BY ALL
)
SELECT e.*,
       coalesce(m.metro_ess_establishments, 0)::INTEGER AS metro_ess_establishments,
       coalesce(m.metro_ess_employees, 0)::DOUBLE AS metro_ess_employees,
       coalesce(m.metro_ess_top_employees, 0)::DOUBLE AS metro_ess_top_employees,
       coalesce(m.metro_total_employees, 0)::DOUBLE AS metro_total_employees,
       coalesce(m.other_ess_top_employees, 0)::DOUBLE AS other_ess_top_employees,
       coalesce(n.communes, 0)::INTEGER AS communes,
       coalesce(m.communes_with_ess, 0)::INTEGER AS communes_with_ess
FROM tmp_employment_by_territory AS e
LEFT JOIN by_territory AS m USING (level, code, year)
LEFT JOIN commune_counts AS n USING (level, code)
ORDER BY e.level, e.code, e.year;
DROP TABLE tmp_employment_by_territory;
COMMENT ON TABLE employment_by_territory IS 'Emploi salarié par territoire et année : ESS, privé hors ESS, public. Dénominateur des parts de l''ESS.';
COMMENT ON COLUMN employment_by_territory.ess_top_employees IS 'Postes du plus grand établissement de l''ESS du territoire (secret statistique).';
COMMENT ON COLUMN employment_by_territory.ess_top_fte IS 'ETP du plus grand établissement de l''ESS du territoire (secret statistique).';
COMMENT ON COLUMN employment_by_territory.ess_top_wages IS 'Rémunérations brutes du plus grand établissement de l''ESS du territoire (secret statistique).';
COMMENT ON COLUMN employment_by_territory.metro_ess_establishments IS 'Établissements employeurs de l''ESS dans les communes du territoire membres d''une métropole (EPCI de nature ME).';
COMMENT ON COLUMN employment_by_territory.metro_ess_employees IS 'Postes salariés de l''ESS dans les communes du territoire membres d''une métropole.';
COMMENT ON COLUMN employment_by_territory.metro_ess_top_employees IS 'Postes du plus grand établissement de l''ESS dans la partie métropolitaine (secret statistique).';
COMMENT ON COLUMN employment_by_territory.other_ess_top_employees IS 'Postes du plus grand établissement de l''ESS hors métropole (secret statistique).';
COMMENT ON COLUMN employment_by_territory.metro_total_employees IS 'Emploi salarié total (ESS, privé hors ESS, public) dans les communes du territoire membres d''une métropole.';
COMMENT ON COLUMN employment_by_territory.communes IS 'Nombre de communes du territoire.';
COMMENT ON COLUMN employment_by_territory.communes_with_ess IS 'Nombre de communes du territoire accueillant au moins un établissement employeur de l''ESS.';
COMMENT ON COLUMN employment_by_territory.level IS 'Niveau du territoire : france, region, departement, epci ou commune.';
COMMENT ON COLUMN employment_by_territory.code IS 'Code officiel du territoire (texte).';
COMMENT ON COLUMN employment_by_territory.year IS 'Année (au 31 décembre).';
COMMENT ON COLUMN employment_by_territory.ess_establishments IS 'Établissements employeurs de l''ESS ; somme brute, avant secret statistique.';
COMMENT ON COLUMN employment_by_territory.ess_employees IS 'Postes salariés de l''ESS au 31 décembre ; somme brute, avant secret statistique.';
COMMENT ON COLUMN employment_by_territory.ess_fte IS 'Équivalents temps plein de l''ESS ; somme brute, avant secret statistique (0 si la source ne les donne pas).';
COMMENT ON COLUMN employment_by_territory.ess_wages IS 'Rémunérations brutes annuelles de l''ESS, en euros ; somme brute, avant secret statistique (0 si la source ne les donne pas).';
COMMENT ON COLUMN employment_by_territory.private_non_ess_establishments IS 'Établissements employeurs privés hors ESS.';
COMMENT ON COLUMN employment_by_territory.private_non_ess_employees IS 'Postes salariés privés hors ESS au 31 décembre.';
COMMENT ON COLUMN employment_by_territory.private_non_ess_fte IS 'Équivalents temps plein privés hors ESS.';
COMMENT ON COLUMN employment_by_territory.private_non_ess_wages IS 'Rémunérations brutes privées hors ESS, en euros.';
COMMENT ON COLUMN employment_by_territory.public_establishments IS 'Établissements employeurs publics.';
COMMENT ON COLUMN employment_by_territory.public_employees IS 'Postes salariés publics au 31 décembre.';
COMMENT ON COLUMN employment_by_territory.public_fte IS 'Équivalents temps plein publics.';
COMMENT ON COLUMN employment_by_territory.public_wages IS 'Rémunérations brutes publiques, en euros.';

-- Employment by territory, year and A88 division, for the ESS share within each sector
-- (communes excluded: query employment_totals and ess_facts for commune detail).
CREATE OR REPLACE TABLE sector_employment_by_territory AS
WITH ess AS (
    SELECT level, code, year, a88_code,
           sum(establishments) AS ess_establishments, sum(employees) AS ess_employees
    FROM ess_by_territory
    WHERE level <> 'commune'
    GROUP BY ALL
), other AS (
    SELECT tc.level, tc.code, t.year, t.a88_code,
           sum(t.private_non_ess_establishments + t.public_establishments) AS other_establishments,
           sum(t.private_non_ess_employees) AS private_non_ess_employees,
           sum(t.public_employees) AS public_employees
    FROM employment_totals AS t
    JOIN territory_communes AS tc USING (commune_code)
    WHERE tc.level <> 'commune'
    GROUP BY ALL
)
SELECT level, code, year, a88_code,
       coalesce(ess_establishments, 0)::INTEGER AS ess_establishments,
       coalesce(ess_employees, 0)::DOUBLE AS ess_employees,
       coalesce(private_non_ess_employees, 0)::DOUBLE AS private_non_ess_employees,
       coalesce(public_employees, 0)::DOUBLE AS public_employees,
       (coalesce(ess_employees, 0) + coalesce(private_non_ess_employees, 0)
        + coalesce(public_employees, 0))::DOUBLE AS total_employees
FROM ess FULL OUTER JOIN other USING (level, code, year, a88_code)
ORDER BY level, code, year, a88_code;
COMMENT ON TABLE sector_employment_by_territory IS 'Emploi salarié par territoire (EPCI et au-dessus), année et division A88 : ESS, privé hors ESS, public.';
COMMENT ON COLUMN sector_employment_by_territory.level IS 'Niveau du territoire : france, region, departement ou epci (pas les communes).';
COMMENT ON COLUMN sector_employment_by_territory.code IS 'Code officiel du territoire (texte).';
COMMENT ON COLUMN sector_employment_by_territory.year IS 'Année (au 31 décembre).';
COMMENT ON COLUMN sector_employment_by_territory.a88_code IS 'Division NAF (A88).';
COMMENT ON COLUMN sector_employment_by_territory.ess_establishments IS 'Établissements employeurs de l''ESS de la division ; somme brute, avant secret statistique.';
COMMENT ON COLUMN sector_employment_by_territory.ess_employees IS 'Postes salariés de l''ESS de la division au 31 décembre ; somme brute, avant secret statistique.';
COMMENT ON COLUMN sector_employment_by_territory.private_non_ess_employees IS 'Postes salariés privés hors ESS de la division.';
COMMENT ON COLUMN sector_employment_by_territory.public_employees IS 'Postes salariés publics de la division.';
COMMENT ON COLUMN sector_employment_by_territory.total_employees IS 'Emploi salarié total de la division (ESS, privé hors ESS et public) : dénominateur de la part de l''ESS dans le secteur.';
