-- cdc_applied's key columns compare bytewise (COLLATE "C"): the table holds one row per source
-- row, every change claims its row through the primary
-- key, and a locale collation (strcoll per comparison) made each claim several times dearer.
-- Only equality is ever asked of these keys, so the order they sort in does not matter.
ALTER TABLE cdc_applied
  ALTER COLUMN source_table TYPE text COLLATE "C",
  ALTER COLUMN row_key TYPE text COLLATE "C";
