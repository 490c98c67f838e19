// Builds the Instagram subgraph (tests import it; index.ts only listens).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'graphql';
import {
  createSubgraph,
  type EventStream,
  type Logger,
  type RateLimitStore,
  type SqlClient,
  type Subgraph,
} from '@igt/common';
import * as schema from './db/schema.js';
import { seedDemoData } from './db/seed.js';
import type { Context } from './context.js';
import { createLoaders } from './loaders.js';
import { createLoginThrottle, type AccountLimits } from './loginThrottle.js';
import { createRelationshipPublisher } from './relationshipOutbox.js';
import { resolvers } from './resolvers/index.js';

export { ACCOUNT_LIMITS, type AccountLimits } from './loginThrottle.js';

/** The Instagram subgraph's SDL, read from schema/instagram.graphql (the source of truth). */
export const typeDefs = parse(readFileSync(new URL('../../../schema/instagram.graphql', import.meta.url), 'utf8'));

/** What the Instagram subgraph runs on; only the entry point reads the environment. */
export interface InstagramOptions {
  sql: SqlClient;
  /** Where relationship changes are published for Messaging. */
  events: EventStream;
  logger: Logger;
  jwtSecret: string;
  jwtTtlSeconds: number;
  gatewaySecret: string;
  /** Load the demo people into an empty database (default true). */
  seed?: boolean;
  /** Where sign-in and sign-up rate limits count (Redis or memory). */
  rateLimits: RateLimitStore;
  /** Sign-in and sign-up limits (default ACCOUNT_LIMITS, each one separately). */
  limits?: Partial<AccountLimits>;
}

/** Builds the Instagram subgraph: applies migrations, seeds an empty database, publishes pending relationship changes. */
export async function createInstagramSubgraph(options: InstagramOptions): Promise<Subgraph> {
  const {
    sql,
    events,
    logger,
    jwtSecret,
    jwtTtlSeconds,
    gatewaySecret,
    seed = true,
    rateLimits,
    limits = {},
  } = options;
  await sql.migrate({ migrationsFolder: fileURLToPath(new URL('../drizzle', import.meta.url)), service: 'instagram' });
  const db = sql.db(schema);
  if (seed && (await sql.exclusive(() => seedDemoData(db)))) logger.info('loaded the demo people');
  const relationshipPublisher = createRelationshipPublisher(db, events, logger);
  await relationshipPublisher.flush();
  const loginThrottle = createLoginThrottle(db, rateLimits, limits);
  return createSubgraph<Context>({
    name: 'instagram',
    typeDefs,
    resolvers,
    gatewaySecret,
    logger,
    checkReady: async () => {
      await Promise.all([sql.ping(), events.ping()]);
    },
    createContext: (request) => ({
      ...request,
      db,
      loaders: createLoaders(db, request.viewerId),
      auth: { jwtSecret, jwtTtlSeconds },
      relationshipPublisher,
      loginThrottle,
    }),
  });
}
