// Builds the Messaging subgraph (tests import it); index.ts only listens.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'graphql';
import {
  catchUpPeriodically,
  finalCatchUp,
  createMetrics,
  createSubgraph,
  instrumentPubSub,
  type EventStream,
  type Logger,
  type PubSub,
  type RateLimitStore,
  type SqlClient,
  type Subgraph,
} from '@igt/common';
import * as schema from './db/schema.js';
import { seedDemoData } from './db/seed.js';
import type { Context } from './context.js';
import { directMessageLog } from './directMessages.js';
import { createInboxStreams } from './inboxChannel.js';
import { inboxEventLog } from './inboxEvents.js';
import { createKnownUsers } from './knownUsers.js';
import { createLoaders } from './loaders.js';
import { createMessageButtons } from './messageButtons.js';
import { createRelationshipProjection } from './relationshipProjection.js';
import { resolvers } from './resolvers/index.js';
import { createSendThrottle, type SendLimits } from './sendLimits.js';
import { createTypingIndicators, type TypingLimits } from './typing.js';

export { SEND_LIMITS, type SendLimits } from './sendLimits.js';
export { TYPING_LIMITS, type TypingLimits } from './typing.js';

/** The Messaging subgraph's SDL, read from schema/messaging.graphql (the source of truth). */
export const typeDefs = parse(readFileSync(new URL('../../../schema/messaging.graphql', import.meta.url), 'utf8'));

/** What the Messaging subgraph runs on; only the entry point reads the environment. */
export interface MessagingOptions {
  sql: SqlClient;
  /** Where new messages, inbox events and typing indicators are announced to live subscribers. */
  pubsub: PubSub;
  /** Where Instagram publishes relationship changes; Messaging keeps its own projection of them. */
  events: EventStream;
  logger: Logger;
  gatewaySecret: string;
  /** Load the demo conversations into an empty database (default true). */
  seed?: boolean;
  /**
   * Also catch up with the relationships stream every this many milliseconds (default 5000; 0 turns it off). Sends
   * catch up on their own; this keeps the stored position fresh so that a restart has little to replay.
   */
  catchUpIntervalMs?: number;
  /** Where the limits on sending messages and typing indicators count (Redis or memory). */
  rateLimits: RateLimitStore;
  /** Limits on sending (default SEND_LIMITS, each one separately). */
  limits?: Partial<SendLimits>;
  /** Limits on sending typing indicators (default TYPING_LIMITS, each one separately). */
  typingLimits?: Partial<TypingLimits>;
  /** How long a `typing: true` indicator lasts unless renewed, in milliseconds (default TYPING_TTL_MS, 5000). */
  typingTtlMs?: number;
}

/** The Messaging subgraph, with a handle on the work it does besides answering requests. */
export interface MessagingSubgraph extends Subgraph {
  /** Stops the periodic catch-up and ends every live subscription. `stop()` does this too. */
  stopBackgroundWork(): Promise<void>;
}

/**
 * Builds the Messaging subgraph: applies migrations, catches up with Instagram's relationships stream, seeds an empty
 * database, and serves queries, mutations and (over graphql-ws, for the gateway) the live subscriptions.
 */
export async function createMessagingSubgraph(options: MessagingOptions): Promise<MessagingSubgraph> {
  const {
    sql,
    events,
    logger,
    gatewaySecret,
    seed = true,
    catchUpIntervalMs = 5_000,
    rateLimits,
    limits = {},
    typingLimits = {},
    typingTtlMs,
  } = options;
  const metrics = createMetrics('messaging');
  const pubsub = instrumentPubSub(options.pubsub, metrics);
  await sql.migrate({ migrationsFolder: fileURLToPath(new URL('../drizzle', import.meta.url)), service: 'messaging' });
  const db = sql.db(schema);
  const relationships = createRelationshipProjection(db, events, logger);
  await relationships.catchUp();
  if (seed && (await sql.exclusive(() => seedDemoData(db)))) logger.info('loaded the demo conversations');
  const knownUsers = createKnownUsers(db);
  const streamServices = { pubsub, logger, metrics };
  const directMessages = createInboxStreams(directMessageLog(db), streamServices);
  const inboxEvents = createInboxStreams(inboxEventLog(db), streamServices);
  const sendThrottle = createSendThrottle(rateLimits, limits);
  const typingIndicators = createTypingIndicators({
    ...streamServices,
    rateLimits,
    limits: typingLimits,
    ttlMs: typingTtlMs,
  });

  const stopCatchingUp = catchUpPeriodically(relationships, catchUpIntervalMs, logger, 'relationship changes');

  const subgraph = await createSubgraph<Context>({
    name: 'messaging',
    typeDefs,
    resolvers,
    gatewaySecret,
    logger,
    subscriptions: true,
    metrics,
    checkReady: async () => {
      await Promise.all([sql.ping(), pubsub.ping(), events.ping()]);
    },
    createContext: (request) => {
      const { viewerId } = request;
      const services = { relationships, logger };
      const buttonServices = () => ({ loaders: context.loaders, knownUsers, relationships, viewerId });
      const context: Context = {
        ...request,
        db,
        loaders: createLoaders(db, viewerId, services),
        messageButtons: createMessageButtons(buttonServices),
        pubsub,
        relationships,
        knownUsers,
        directMessages,
        inboxEvents,
        sendThrottle,
        typingIndicators,
        renewLoaders() {
          context.loaders = createLoaders(db, viewerId, services);
          context.messageButtons = createMessageButtons(buttonServices);
        },
      };
      return context;
    },
  });

  const stopBackgroundWork = async () => {
    stopCatchingUp();
    await Promise.all([directMessages.closeAll(), inboxEvents.closeAll(), typingIndicators.closeAll()]);
  };
  return {
    ...subgraph,
    stopBackgroundWork,
    async stop() {
      await subgraph.stop();
      await stopBackgroundWork();
      await finalCatchUp(relationships, logger, 'relationship changes');
    },
  };
}
