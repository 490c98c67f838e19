/** Helpers over DataLoader for every subgraph: batched row and membership loads, reloads, a mutation's other party. */
import DataLoader from 'dataloader';
import { badUserInput, notFound } from './errors.js';
import { parseId } from './ids.js';

/**
 * A loader that fetches the rows for a batch of keys in one call (one `where key in (...)` query) and answers in
 * key order, with null for a key that has no row.
 */
export function rowLoader<K, V>(fetch: (keys: K[]) => Promise<V[]>, keyOf: (row: V) => K): DataLoader<K, V | null> {
  return new DataLoader<K, V | null>(async (keys) => {
    const byKey = new Map((await fetch([...keys])).map((row) => [keyOf(row), row]));
    return keys.map((key) => byKey.get(key) ?? null);
  });
}

/**
 * A loader answering "is `id` in the viewer's set that `query` returns?" for a batch of ids in one statement.
 * Anonymous viewers get `false` without a query.
 */
export function membershipLoader(
  viewerId: number | null,
  query: (viewerId: number, ids: number[]) => Promise<number[]>,
) {
  return new DataLoader<number, boolean>(async (ids) => {
    if (viewerId === null) return ids.map(() => false);
    const found = new Set(await query(viewerId, [...ids]));
    return ids.map((id) => found.has(id));
  });
}

/**
 * Loads `key` afresh, past what this request's loader already holds (a mutation just changed it); NOT_FOUND naming
 * `what` when it is gone.
 */
export async function reload<K, V>(loader: DataLoader<K, V | null>, key: K, what: string): Promise<V> {
  loader.clear(key);
  const value = await loader.load(key);
  if (value === null) throw notFound(`That ${what} no longer exists.`);
  return value;
}

/**
 * The other party of a mutation between the viewer and someone else, given by id in `argument`: a valid id, not the
 * viewer's own, and loadable; BAD_USER_INPUT or NOT_FOUND otherwise.
 */
export async function otherParty<V>(
  viewerId: number,
  id: string,
  argument: string,
  loader: DataLoader<number, V | null>,
  messages: { self: string; missing: string },
): Promise<V> {
  const otherId = parseId(id, argument);
  if (otherId === viewerId) throw badUserInput(messages.self, argument);
  const other = await loader.load(otherId);
  if (other === null) throw notFound(messages.missing);
  return other;
}
