-- Staging: NAF rév. 2 from sous-classe up to section, with A38 and A88 groupings.
CREATE OR REPLACE TEMP VIEW stg_sectors AS
SELECT naf_code, naf_label, class_code, group_code, a88_code, a88_label,
       a38_code, a38_label, a21_code, a21_label
FROM raw_ref_naf;

CREATE OR REPLACE TEMP VIEW stg_families AS
SELECT family_code, label, short_label, sort_order FROM raw_ref_families;

CREATE OR REPLACE TEMP VIEW stg_size_classes AS
SELECT size_class, label, min_employees, sort_order FROM raw_ref_size_classes;
