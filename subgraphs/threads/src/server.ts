// Builds the Threads subgraph (tests import it; index.ts only listens).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'graphql';
import {
  catchUpPeriodically,
  finalCatchUp,
  createSubgraph,
  type EventStream,
  type Logger,
  type SqlClient,
  type Subgraph,
} from '@igt/common';
import { createBlockProjection } from './blockProjection.js';
import * as schema from './db/schema.js';
import { seedDemoData } from './db/seed.js';
import type { Context } from './context.js';
import { createLoaders } from './loaders.js';
import { resolvers } from './resolvers/index.js';

/** The Threads SDL, read from schema/threads.graphql (the source of truth). */
export const typeDefs = parse(readFileSync(new URL('../../../schema/threads.graphql', import.meta.url), 'utf8'));

/** What the Threads subgraph needs from whoever starts it. */
export interface ThreadsOptions {
  sql: SqlClient;
  /** Where Instagram publishes relationship changes; Threads keeps its own projection of the blocks. */
  events: EventStream;
  logger: Logger;
  gatewaySecret: string;
  /** Load the demo profiles and threads into an empty database (default true). */
  seed?: boolean;
  /**
   * Also catch up with the relationships stream every this many milliseconds (default 5000; 0 turns it off). Requests
   * that depend on blocks catch up on their own; this keeps the stored position fresh so that a restart has little
   * to replay.
   */
  catchUpIntervalMs?: number;
}

/**
 * Builds the Threads subgraph: applies migrations, seeds an empty database, catches up with Instagram's relationships
 * stream (so blocks are honoured from the first request) and keeps catching up in the background.
 */
export async function createThreadsSubgraph(options: ThreadsOptions): Promise<Subgraph> {
  const { sql, events, logger, gatewaySecret, seed = true, catchUpIntervalMs = 5_000 } = options;
  await sql.migrate({ migrationsFolder: fileURLToPath(new URL('../drizzle', import.meta.url)), service: 'threads' });
  const db = sql.db(schema);
  // Seed first: a block among the demo people then removes their demo Threads follows like any other block would.
  if (seed && (await sql.exclusive(() => seedDemoData(db)))) logger.info('loaded the demo threads');
  const blockProjection = createBlockProjection(db, events, logger);
  await blockProjection.catchUp();
  const stopCatchingUp = catchUpPeriodically(blockProjection, catchUpIntervalMs, logger, 'blocks');

  const subgraph = await createSubgraph<Context>({
    name: 'threads',
    typeDefs,
    resolvers,
    gatewaySecret,
    logger,
    checkReady: async () => {
      await Promise.all([sql.ping(), events.ping()]);
    },
    createContext: (request) => {
      let caughtUp: Promise<void> | undefined;
      const catchUpBlocks = () => (caughtUp ??= blockProjection.catchUp());
      return {
        ...request,
        db,
        loaders: createLoaders(db, request.viewerId, catchUpBlocks),
        catchUpBlocks,
      };
    },
  });
  return {
    ...subgraph,
    async stop() {
      stopCatchingUp();
      await subgraph.stop();
      await finalCatchUp(blockProjection, logger, 'blocks');
    },
  };
}
