-- The version of the documents as a whole, for the total_count cache of the PostgreSQL store
-- (store/postgres/count-cache.ts). Counting the matches of a searchCriteria query is most of its
-- cost at 100,000 products (an index-only scan over tens of thousands of entries, ~5–10 ms),
-- while a storefront asks the same few listings again and again, page after page. A count is
-- reused only while this version is the one it was counted at, read in the same statement (so
-- from the same snapshot) as the page — the idea of Elasticsearch's shard request cache, which
-- keeps hit counts until the next refresh changes the data.
--
-- Statement triggers bump it for every writer of the documents (the store, a reset's TRUNCATE,
-- a hand-made fix), so no code path can forget to. It starts at a random value: a store that is
-- dropped and created again must not repeat a version a running PIM has counts cached for.
CREATE TABLE pim_document_version (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  version bigint NOT NULL
);
INSERT INTO pim_document_version (version) VALUES ((random() * 1e15)::bigint);

CREATE FUNCTION pim_bump_document_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE pim_document_version SET version = version + 1;
  RETURN NULL;
END
$$;

CREATE TRIGGER pim_document_version_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pim_document
  FOR EACH STATEMENT EXECUTE FUNCTION pim_bump_document_version();
CREATE TRIGGER pim_document_version_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pim_document_category
  FOR EACH STATEMENT EXECUTE FUNCTION pim_bump_document_version();
