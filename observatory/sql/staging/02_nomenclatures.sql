-- Staging: NAF rév. 2 from sous-classe up to section, with A38 and A88 groupings and the ESS
-- activity domain (observatory/domains.py: the rule of the sous-classe, else of its division,
-- else of its section).
CREATE OR REPLACE TEMP VIEW stg_sectors AS
SELECT n.naf_code, n.naf_label, n.class_code, n.group_code, n.a88_code, n.a88_label,
       n.a38_code, n.a38_label, n.a21_code, n.a21_label,
       coalesce(by_naf.domain_code, by_a88.domain_code, by_a21.domain_code) AS domain_code
FROM raw_ref_naf AS n
LEFT JOIN raw_ref_domain_rules AS by_naf ON by_naf.naf = n.naf_code
LEFT JOIN raw_ref_domain_rules AS by_a88 ON by_a88.naf = n.a88_code
LEFT JOIN raw_ref_domain_rules AS by_a21 ON by_a21.naf = n.a21_code;

CREATE OR REPLACE TEMP VIEW stg_domains AS
SELECT domain_code, label, naf_codes, sort_order FROM raw_ref_domains;

CREATE OR REPLACE TEMP VIEW stg_families AS
SELECT family_code, label, short_label, sort_order FROM raw_ref_families;

CREATE OR REPLACE TEMP VIEW stg_size_classes AS
SELECT size_class, label, min_employees, sort_order FROM raw_ref_size_classes;
COMMENT ON VIEW stg_sectors IS 'NAF rév. 2 de la sous-classe à la section, avec les regroupements A38 et A88 et le domaine d''activité de l''ESS de chaque sous-classe.';
COMMENT ON VIEW stg_domains IS 'Domaines d''activité de l''ESS définis par l''observatoire.';
COMMENT ON VIEW stg_families IS 'Familles de l''ESS, dans leur ordre officiel.';
COMMENT ON VIEW stg_size_classes IS 'Tranches de taille des établissements, de la plus petite à la plus grande.';
