/** Stream projections: a service's own copy of facts another publishes on a stream, applied with its position. */
import { eq } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Db, DbTransaction } from './db.js';
import { codedError, ErrorCode } from './errors.js';
import type { Logger } from './logger.js';
import { StreamPositionTrimmedError, type EventStream, type StreamEntry } from './streams.js';

/**
 * The table where a service records how far it has applied each stream it consumes. Each service declares its own, in
 * its own Postgres schema, with these columns:
 *
 * ```ts
 * export const streamPositions = mySchema.table('stream_positions', {
 *   stream: text('stream').primaryKey(),
 *   position: text('position'),
 *   updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
 * });
 * ```
 */
export type StreamPositionTable = PgTable & { stream: PgColumn; position: PgColumn; updatedAt: PgColumn };

/** How a service keeps a projection of one stream. */
export interface StreamProjectionOptions<TSchema extends Record<string, unknown>, TEvent> {
  db: Db<TSchema>;
  events: EventStream;
  /** The stream to follow, e.g. `RELATIONSHIPS_STREAM`. */
  stream: string;
  /** The service's own position table (see `StreamPositionTable`). */
  positions: StreamPositionTable;
  /**
   * This service's name among the stream's consumers, and all of them (`RELATIONSHIPS_CONSUMERS`): after each batch
   * commits, the position is acknowledged to the stream, which trims what every consumer has applied.
   */
  consumer: { name: string; all: readonly string[] };
  /**
   * Applies a batch of entries, oldest first, inside the transaction that also records the new position. Entries can
   * be applied again after a stale position (an in-process stream restarted), so applying must be idempotent.
   */
  apply(tx: DbTransaction<TSchema>, entries: StreamEntry<TEvent>[]): Promise<void>;
  /** Entries applied per transaction (default 500). */
  batchSize?: number;
  /** Where a stream that cannot be read is reported. */
  logger: Logger;
}

/** A service's own copy of facts another service publishes on a stream. */
export interface StreamProjection {
  /**
   * Applies every entry published so far. When this process last saw the projection caught up, it first asks the
   * stream whether anything new exists (no SQL at all when nothing does), so calling it before every request that
   * depends on the projection is cheap. SERVICE_UNAVAILABLE when the stream cannot be read: a request that depends on
   * the projection must not go ahead on facts that may be stale (a block it has not heard of).
   */
  catchUp(): Promise<void>;
}

/** Entries past which a stream is reported as long: a consumer of it is down, or falling behind. */
const LONG_STREAM = 10_000;

/**
 * Keeps a projection in step with a stream. The stored position and the projection change in one transaction, under
 * a lock on the position row, so several instances (or concurrent requests) never apply a batch twice or skip one.
 */
export function createStreamProjection<TSchema extends Record<string, unknown>, TEvent>(
  options: StreamProjectionOptions<TSchema, TEvent>,
): StreamProjection {
  const { db, events, stream, positions, consumer, apply, batchSize = 500, logger } = options;
  /** What a request gets when the stream cannot be read, once the cause is logged. */
  const unreadable = (error: unknown) => {
    // A trimmed position means missed events that no one can replay: the projection refuses, loudly, until it is
    // rebuilt (see StreamPositionTrimmedError), rather than go on without them.
    if (error instanceof StreamPositionTrimmedError)
      logger.error({ err: error, stream }, 'projection fell behind a trim');
    else logger.warn({ err: error, stream }, 'cannot read the stream');
    return codedError(
      ErrorCode.ServiceUnavailable,
      'This cannot be done right now (the latest follows and blocks cannot be confirmed). Try again in a moment.',
    );
  };
  const read = (position: string | null, count: number) =>
    events.read<TEvent>(stream, position, count).catch((error: unknown) => {
      throw unreadable(error);
    });
  // The last position this process saw committed: a cheap look at the stream tells whether there is anything to do
  // without opening a transaction. Another instance may be further ahead; the locked read below settles that.
  let known: string | null | undefined;

  /** Applies one batch; returns how many entries it applied and the position after it. */
  const applyBatch = () =>
    db.transaction(async (tx) => {
      await tx.insert(positions).values({ stream, position: null }).onConflictDoNothing();
      const [row] = await tx
        .select({ position: positions.position })
        .from(positions)
        .where(eq(positions.stream, stream))
        .for('update');
      const position = (row?.position as string | null | undefined) ?? null;
      const entries = await read(position, batchSize);
      const last = entries.at(-1);
      if (!last) return { applied: 0, position };
      await apply(tx, entries);
      await tx.update(positions).set({ position: last.id, updatedAt: new Date() }).where(eq(positions.stream, stream));
      return { applied: entries.length, position: last.id };
    });

  // Only this process's view can be trimmed past (another instance moved the stored position on): that is news too.
  const hasNews = (position: string | null) =>
    events.read(stream, position, 1).then(
      (entries) => entries.length > 0,
      (error: unknown) => {
        if (error instanceof StreamPositionTrimmedError) return true;
        throw unreadable(error);
      },
    );

  const catchUpOnce = async () => {
    if (known !== undefined && !(await hasNews(known))) return;
    for (;;) {
      const { applied, position } = await applyBatch();
      known = position;
      if (applied && position) {
        // Committed, so the entries can go. Trimming waits for the next batch if this fails; the request need not.
        const held = await events
          .acknowledge(stream, consumer.name, position, consumer.all)
          .catch((error: unknown) => logger.warn({ err: error, stream }, 'cannot acknowledge the stream position'));
        if (held && held > LONG_STREAM) logger.warn({ stream, held }, 'a consumer that is behind holds trimming back');
      }
      if (applied < batchSize) return;
    }
  };

  // One catch-up at a time per process: concurrent requests would otherwise each open a transaction and queue on the
  // position row's lock, to find nothing left to apply. A caller must see everything published before it asked, which
  // a run already under way may have read too early: callers arriving meanwhile share one more run, after it.
  let running: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  const catchUp = (): Promise<void> => {
    if (!running) {
      running = catchUpOnce().finally(() => (running = undefined));
      return running;
    }
    queued ??= running
      .then(
        () => {},
        () => {},
      )
      .then(() => {
        queued = undefined;
        return catchUp();
      });
    return queued;
  };
  return { catchUp };
}

/**
 * Applies what the stream holds one last time, at shutdown: an in-process stream dies with the process, so a follow
 * or block published since the last catch-up would otherwise never reach this projection. Never throws.
 */
export async function finalCatchUp(projection: StreamProjection, logger: Logger, what: string): Promise<void> {
  await projection
    .catchUp()
    .catch((error: unknown) => logger.warn({ err: error }, `catching up with ${what} at shutdown failed`));
}

/**
 * Also catches `projection` up every `intervalMs` (0 turns it off), so the stored position stays fresh and a restart
 * has little to replay. Requests that depend on the projection still catch up on their own. Returns a stop function.
 */
export function catchUpPeriodically(
  projection: StreamProjection,
  intervalMs: number,
  logger: Logger,
  what: string,
): () => void {
  if (intervalMs <= 0) return () => {};
  const timer = setInterval(() => {
    projection.catchUp().catch((error: unknown) => logger.warn({ err: error }, `catching up with ${what} failed`));
  }, intervalMs);
  // Background work must not keep the process alive.
  timer.unref();
  return () => clearInterval(timer);
}
