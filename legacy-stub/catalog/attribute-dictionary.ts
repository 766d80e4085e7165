import type pg from 'pg';
import type { BackendType } from '../seed/reference-data.ts';

/** One product attribute of `eav_attribute`: where its values live and how they are typed. */
export interface AttributeDefinition {
  id: number;
  code: string;
  backendType: BackendType;
  frontendInput: string | null;
  /** option_ids of a select attribute with an option list (color, size); empty otherwise. */
  optionIds: ReadonlySet<number>;
}

export interface AttributeDictionary {
  byCode: ReadonlyMap<string, AttributeDefinition>;
  byId: ReadonlyMap<number, AttributeDefinition>;
}

export type Queryable = Pick<pg.ClientBase, 'query'>;

export async function loadAttributeDictionary(db: Queryable): Promise<AttributeDictionary> {
  const { rows } = await db.query<{
    attribute_id: number;
    attribute_code: string;
    backend_type: BackendType;
    frontend_input: string | null;
    option_ids: number[] | null;
  }>(
    `SELECT a.attribute_id, a.attribute_code, a.backend_type, a.frontend_input,
            array_agg(o.option_id) FILTER (WHERE o.option_id IS NOT NULL) AS option_ids
       FROM eav_attribute a LEFT JOIN eav_attribute_option o USING (attribute_id)
      WHERE a.entity_type_id = 4
      GROUP BY a.attribute_id ORDER BY a.attribute_id`,
  );
  const definitions = rows.map(
    (row): AttributeDefinition =>
      Object.freeze({
        id: row.attribute_id,
        code: row.attribute_code,
        backendType: row.backend_type,
        frontendInput: row.frontend_input,
        optionIds: new Set(row.option_ids ?? []),
      }),
  );
  return Object.freeze({
    byCode: new Map(definitions.map((d) => [d.code, d])),
    byId: new Map(definitions.map((d) => [d.id, d])),
  });
}

/**
 * The dictionary is reference data, written once by the seed; load it on first use and keep it.
 * An empty dictionary (an unseeded database) is not kept, so a seed that runs after the app
 * started is still seen.
 */
export function cachedAttributeDictionary(db: Queryable): () => Promise<AttributeDictionary> {
  let cached: Promise<AttributeDictionary> | undefined;
  return () => {
    if (!cached) {
      cached = loadAttributeDictionary(db).then((dictionary) => {
        if (dictionary.byCode.size === 0) cached = undefined;
        return dictionary;
      });
      cached.catch(() => {
        cached = undefined;
      });
    }
    return cached;
  };
}
