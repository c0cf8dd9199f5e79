-- Staging: the generated demo tables, typed as the marts expect.
CREATE OR REPLACE TEMP VIEW stg_demo_ess_facts AS
SELECT CAST(commune_code AS VARCHAR) AS commune_code,
       CAST(year AS SMALLINT) AS year,
       CAST(family_code AS VARCHAR) AS family_code,
       CAST(naf_code AS VARCHAR) AS naf_code,
       CAST(establishments AS INTEGER) AS establishments,
       CAST(employees AS INTEGER) AS employees,
       CAST(fte AS DOUBLE) AS fte,
       CAST(gross_wages AS BIGINT) AS gross_wages,
       CAST(top_employees AS INTEGER) AS top_employees,
       CAST(top_fte AS DOUBLE) AS top_fte,
       CAST(top_wages AS BIGINT) AS top_wages,
       'demo' AS source
FROM raw_demo_ess_facts;

CREATE OR REPLACE TEMP VIEW stg_demo_employment_totals AS
SELECT CAST(commune_code AS VARCHAR) AS commune_code,
       CAST(year AS SMALLINT) AS year,
       CAST(a88_code AS VARCHAR) AS a88_code,
       CAST(private_non_ess_establishments AS INTEGER) AS private_non_ess_establishments,
       CAST(private_non_ess_employees AS INTEGER) AS private_non_ess_employees,
       CAST(private_non_ess_fte AS DOUBLE) AS private_non_ess_fte,
       CAST(private_non_ess_wages AS BIGINT) AS private_non_ess_wages,
       CAST(public_establishments AS INTEGER) AS public_establishments,
       CAST(public_employees AS INTEGER) AS public_employees,
       CAST(public_fte AS DOUBLE) AS public_fte,
       CAST(public_wages AS BIGINT) AS public_wages,
       'demo' AS source
FROM raw_demo_employment_totals;

CREATE OR REPLACE TEMP VIEW stg_demo_ess_size_facts AS
SELECT CAST(commune_code AS VARCHAR) AS commune_code,
       CAST(year AS SMALLINT) AS year,
       CAST(size_class AS VARCHAR) AS size_class,
       CAST(establishments AS INTEGER) AS establishments,
       CAST(employees AS INTEGER) AS employees,
       CAST(fte AS DOUBLE) AS fte,
       CAST(gross_wages AS BIGINT) AS gross_wages,
       CAST(top_employees AS INTEGER) AS top_employees,
       CAST(top_fte AS DOUBLE) AS top_fte,
       CAST(top_wages AS BIGINT) AS top_wages,
       'demo' AS source
FROM raw_demo_ess_size_facts;
COMMENT ON VIEW stg_demo_ess_facts IS 'Faits de l''ESS générés pour la démonstration (fictifs), typés comme l''entrepôt les attend ; vide dans un entrepôt de fichiers réels.';
COMMENT ON VIEW stg_demo_employment_totals IS 'Emploi hors ESS généré pour la démonstration (fictif) ; vide dans un entrepôt de fichiers réels.';
COMMENT ON VIEW stg_demo_ess_size_facts IS 'Faits de l''ESS par tranche de taille générés pour la démonstration (fictifs) ; vide dans un entrepôt de fichiers réels.';
