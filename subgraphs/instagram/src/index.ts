/** Runs the Instagram subgraph on its own, configured from the environment (PostgreSQL and Redis required). */
import { tracing } from './tracing.js';
import {
  createLogger,
  openEventStream,
  openRateLimitStore,
  openSqlClient,
  requireForStandalone,
  runUntilSignalled,
} from '@igt/common';
import { accountLimits, loadConfig } from './config.js';
import { createInstagramSubgraph } from './server.js';

const config = loadConfig();
const logger = createLogger('instagram', config.LOG_LEVEL);
await runUntilSignalled(logger, async () => {
  const { DATABASE_URL, REDIS_URL } = requireForStandalone('instagram', {
    DATABASE_URL: config.DATABASE_URL,
    REDIS_URL: config.REDIS_URL,
  });
  const sql = await openSqlClient({ databaseUrl: DATABASE_URL });
  const onRedisError = (error: unknown) => logger.error({ err: error }, 'redis error');
  const events = await openEventStream(REDIS_URL, config.REDIS_PREFIX, onRedisError);
  const rateLimits = await openRateLimitStore(REDIS_URL, config.REDIS_PREFIX, onRedisError);
  const subgraph = await createInstagramSubgraph({
    sql,
    events,
    logger,
    jwtSecret: config.JWT_SECRET,
    jwtTtlSeconds: config.JWT_TTL_SECONDS,
    gatewaySecret: config.GATEWAY_SECRET,
    seed: config.SEED_DEMO_DATA,
    rateLimits,
    limits: accountLimits(config),
  });
  await subgraph.listen(config.INSTAGRAM_PORT);
  return {
    async stop() {
      await subgraph.stop();
      await Promise.all([events.close(), rateLimits.close()]);
      await sql.close();
      await tracing?.shutdown();
    },
  };
});
