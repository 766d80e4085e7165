-- The document's large values are stored out of line WITHOUT compression (issue 8, seeding).
-- At ~6 KB a row, PostgreSQL TOASTs every document: it tried pglz on the product JSON, the long
-- texts, the search text and the tsvector, one after the other, on every write — ~80 µs of the
-- ~320 µs PostgreSQL spent writing a seeded document (10,000 products, side by side), and most of
-- them compress poorly (the tsvector not at all). The server is built without lz4, the cheap
-- codec. Uncompressed, the table is ~40% larger (52 → 73 MB at 10,000 products), and reading a
-- product back no longer decompresses it. Existing rows keep their form until rewritten.
ALTER TABLE pim_document
  ALTER COLUMN product SET STORAGE EXTERNAL,
  ALTER COLUMN texts SET STORAGE EXTERNAL,
  ALTER COLUMN search_text SET STORAGE EXTERNAL,
  ALTER COLUMN search SET STORAGE EXTERNAL;
