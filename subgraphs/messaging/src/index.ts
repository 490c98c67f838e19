/** Runs the Messaging subgraph on its own, configured from the environment (PostgreSQL and Redis required). */
import { tracing } from './tracing.js';
import {
  createLogger,
  openEventStream,
  openPubSub,
  openRateLimitStore,
  openSqlClient,
  requireForStandalone,
  runUntilSignalled,
} from '@igt/common';
import { loadConfig, sendLimits, typingLimits } from './config.js';
import { createMessagingSubgraph } from './server.js';

const config = loadConfig();
const logger = createLogger('messaging', config.LOG_LEVEL);
await runUntilSignalled(logger, async () => {
  const { DATABASE_URL, REDIS_URL } = requireForStandalone('messaging', {
    DATABASE_URL: config.DATABASE_URL,
    REDIS_URL: config.REDIS_URL,
  });
  const onRedisError = (error: unknown) => logger.error({ err: error }, 'redis error');
  const sql = await openSqlClient({ databaseUrl: DATABASE_URL });
  const pubsub = await openPubSub(REDIS_URL, config.REDIS_PREFIX, onRedisError);
  const events = await openEventStream(REDIS_URL, config.REDIS_PREFIX, onRedisError);
  const rateLimits = await openRateLimitStore(REDIS_URL, config.REDIS_PREFIX, onRedisError);
  const subgraph = await createMessagingSubgraph({
    sql,
    pubsub,
    events,
    logger,
    gatewaySecret: config.GATEWAY_SECRET,
    seed: config.SEED_DEMO_DATA,
    rateLimits,
    limits: sendLimits(config),
    typingLimits: typingLimits(config),
  });
  await subgraph.listen(config.MESSAGING_PORT);
  return {
    async stop() {
      await subgraph.stop();
      await Promise.all([pubsub.close(), events.close(), rateLimits.close()]);
      await sql.close();
      await tracing?.shutdown();
    },
  };
});
