// Query helpers for the "blocked either way" rule over any service's own copy of the blocks table.
import { and, eq, exists, inArray, not, or, type Placeholder, type SQL } from 'drizzle-orm';
import type { AnyPgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Db } from './db.js';

/** A non-null integer column naming a user. */
type UserIdColumn = AnyPgColumn<{ data: number; notNull: true }>;

/**
 * A blocks table as each service keeps it (Instagram's own, Messaging's and Threads' projections), in its own Postgres
 * schema, with at least these columns: `blockerId` has blocked `blockedId`.
 */
export type BlockTable = PgTable & { blockerId: UserIdColumn; blockedId: UserIdColumn };

/** A viewer's user id in a statement: the id itself, or the placeholder a prepared statement is given it by. */
export type ViewerIdValue = number | Placeholder;

/** One stored block: `blockerId` has blocked `blockedId`. */
export interface BlockPair {
  blockerId: number;
  blockedId: number;
}

/** Anything that can run a select: a service's database or a transaction of it. */
type Reader<TSchema extends Record<string, unknown>> = Pick<Db<TSchema>, 'select'>;

/**
 * SQL condition over a blocks table: a block between `personId` and any of the people `othersInclude` matches (given
 * a column naming a user), in either direction.
 */
export function blockBetweenCondition(
  table: BlockTable,
  personId: ViewerIdValue,
  othersInclude: (column: UserIdColumn) => SQL,
): SQL {
  return or(
    and(eq(table.blockerId, personId), othersInclude(table.blockedId)),
    and(eq(table.blockedId, personId), othersInclude(table.blockerId)),
  )!;
}

/**
 * The blocks between `personId` and each of `others`, in either direction (none for an empty `others`): one query
 * whatever the number of others, and the rows say who blocked whom.
 */
export async function blocksBetween<TSchema extends Record<string, unknown>>(
  db: Reader<TSchema>,
  table: BlockTable,
  personId: number,
  others: readonly number[],
): Promise<BlockPair[]> {
  if (!others.length) return [];
  return db
    .select({ blockerId: table.blockerId, blockedId: table.blockedId })
    .from(table)
    .where(blockBetweenCondition(table, personId, (column) => inArray(column, [...others])));
}

/** Whether either of `a` and `b` has blocked the other. */
export async function blockedEitherWay<TSchema extends Record<string, unknown>>(
  db: Reader<TSchema>,
  table: BlockTable,
  a: number,
  b: number,
): Promise<boolean> {
  return (await blocksBetween(db, table, a, [b])).length > 0;
}

/**
 * SQL condition over rows whose `person` column names a user: that user has blocked `viewerId` (the rule each
 * service's hiddenFrom.ts applies with its own blocks table).
 */
export function blockedBy<TSchema extends Record<string, unknown>>(
  db: Reader<TSchema>,
  table: BlockTable,
  person: AnyPgColumn,
  viewerId: ViewerIdValue,
): SQL {
  return exists(
    db
      .select({ blockerId: table.blockerId })
      .from(table)
      .where(and(eq(table.blockerId, person), eq(table.blockedId, viewerId))),
  );
}

/** The opposite of `blockedBy`, for lists: rows whose `person` has not blocked the viewer; no condition when anonymous. */
export function notBlockedBy<TSchema extends Record<string, unknown>>(
  db: Reader<TSchema>,
  table: BlockTable,
  person: AnyPgColumn,
  viewerId: ViewerIdValue | null,
): SQL | undefined {
  return viewerId === null ? undefined : not(blockedBy(db, table, person, viewerId));
}
