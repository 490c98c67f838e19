// Instagram's side of the relationship event flow: the transactional outbox and the publisher that empties it.
import { asc, inArray, sql } from 'drizzle-orm';
import {
  RELATIONSHIPS_STREAM,
  type Db,
  type DbTransaction,
  type EventStream,
  type Logger,
  type RelationshipEvent,
} from '@igt/common';
import * as schema from './db/schema.js';

const { outbox } = schema;

/**
 * Rows published between two VACUUMs of the outbox. Embedded PGlite runs no autovacuum, so the space of deleted rows
 * would never be reused and the table would grow with traffic (about 28 bytes per change, measured); on PostgreSQL,
 * where autovacuum does this anyway, vacuuming a table this small costs next to nothing.
 */
const VACUUM_EVERY = 500;

/** Records a relationship change in the outbox, inside the transaction that makes it. */
export async function recordRelationshipChange(
  tx: DbTransaction<typeof schema> | Db<typeof schema>,
  event: RelationshipEvent,
): Promise<void> {
  await tx.insert(outbox).values({ event });
}

/** Publishes what the outbox holds to the relationships stream. */
export interface RelationshipPublisher {
  /** Publishes everything committed so far; concurrent calls share one run at a time. Never rejects. */
  flush(): Promise<void>;
}

/**
 * Moves committed relationship changes from the outbox to the relationships stream, oldest first. Mutations await
 * `flush()` after committing, so by the time a follow or block returns, Messaging can read it; start-up flushes
 * whatever an earlier run committed but did not publish. Rows are claimed with SKIP LOCKED so several instances can
 * flush at once without publishing a row twice, and deleted once appended, so the outbox stays as small as what is
 * waiting (should the commit fail after the append, the rows are appended again: events carry a pair's state after
 * the change, so a repeat is harmless). The stream is trimmed by its consumers (see `EventStream.acknowledge`).
 */
export function createRelationshipPublisher(
  db: Db<typeof schema>,
  stream: EventStream,
  logger: Logger,
): RelationshipPublisher {
  let running: Promise<void> = Promise.resolve();
  let sinceVacuum = 0;
  const vacuum = async () => {
    sinceVacuum = 0;
    await db
      .execute(sql`vacuum ${outbox}`)
      .catch((error: unknown) => logger.warn({ err: error }, 'vacuuming the relationship outbox failed'));
  };
  const publishPending = async () => {
    for (;;) {
      const published = await db.transaction(async (tx) => {
        const rows = await tx
          .select()
          .from(outbox)
          .orderBy(asc(outbox.id))
          .limit(100)
          .for('update', { skipLocked: true });
        for (const row of rows) await stream.append(RELATIONSHIPS_STREAM, row.event);
        if (rows.length) {
          await tx.delete(outbox).where(
            inArray(
              outbox.id,
              rows.map((row) => row.id),
            ),
          );
        }
        return rows.length;
      });
      sinceVacuum += published;
      if (published < 100) break;
    }
    if (sinceVacuum >= VACUUM_EVERY) await vacuum();
  };
  return {
    flush(): Promise<void> {
      running = running.then(publishPending, publishPending).catch((error: unknown) => {
        logger.error({ err: error }, 'publishing relationship changes failed; they stay in the outbox');
      });
      return running;
    },
  };
}
