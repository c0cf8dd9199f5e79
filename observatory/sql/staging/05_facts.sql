-- Staging: commune-level facts of every source, as the marts expect them.
CREATE OR REPLACE TEMP VIEW stg_ess_facts AS
SELECT * FROM stg_demo_ess_facts
UNION ALL BY NAME
SELECT * FROM stg_sirene_ess_facts;

CREATE OR REPLACE TEMP VIEW stg_employment_totals AS
SELECT * FROM stg_demo_employment_totals
UNION ALL BY NAME
SELECT * FROM stg_sirene_employment_totals;

CREATE OR REPLACE TEMP VIEW stg_ess_size_facts AS
SELECT * FROM stg_demo_ess_size_facts
UNION ALL BY NAME
SELECT * FROM stg_sirene_ess_size_facts;
