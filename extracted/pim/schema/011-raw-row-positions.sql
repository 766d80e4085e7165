-- Each raw row keeps the position (commit LSN, index) of the change that wrote it (issue 8,
-- seeding). While an empty PIM receives its snapshot, the 1.8 M `op: "r"` rows of 100,000
-- products are not claimed one by one in cdc_applied (the consumer kit's per-row record, about
-- half of the PIM's cost per snapshot row): their position lives in the raw row itself, and every
-- raw write — snapshot row or live change — refuses to replace a row holding a newer position, and
-- every delete to remove one. cdc_applied still records deletes and truncates (a deleted row has no
-- raw row left to hold its position) and every live change. NULL: written before this migration,
-- or by the bulk fill of legacy-snapshot.ts; its position, if any, is in cdc_applied.
ALTER TABLE pim_raw_entity ADD COLUMN cdc_lsn pg_lsn, ADD COLUMN cdc_position integer;
ALTER TABLE pim_raw_value ADD COLUMN cdc_lsn pg_lsn, ADD COLUMN cdc_position integer;
ALTER TABLE pim_raw_tier_price ADD COLUMN cdc_lsn pg_lsn, ADD COLUMN cdc_position integer;
ALTER TABLE pim_raw_category_product ADD COLUMN cdc_lsn pg_lsn, ADD COLUMN cdc_position integer;
ALTER TABLE pim_raw_stock_item ADD COLUMN cdc_lsn pg_lsn, ADD COLUMN cdc_position integer;
ALTER TABLE pim_raw_attribute ADD COLUMN cdc_lsn pg_lsn, ADD COLUMN cdc_position integer;
ALTER TABLE pim_raw_option ADD COLUMN cdc_lsn pg_lsn, ADD COLUMN cdc_position integer;
ALTER TABLE pim_raw_option_value ADD COLUMN cdc_lsn pg_lsn, ADD COLUMN cdc_position integer;
ALTER TABLE pim_raw_category ADD COLUMN cdc_lsn pg_lsn, ADD COLUMN cdc_position integer;
