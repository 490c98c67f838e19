/** Runs the Instagram subgraph on its own, configured from the environment (PostgreSQL and Redis required). */
import { createLogger, openEventStream, openSqlClient, requireForStandalone, runUntilSignalled } from '@igt/common';
import { loadConfig } from './config.js';
import { createInstagramSubgraph } from './server.js';

const config = loadConfig();
const logger = createLogger('instagram', config.LOG_LEVEL);
await runUntilSignalled(logger, async () => {
  const { DATABASE_URL, REDIS_URL } = requireForStandalone('instagram', { DATABASE_URL: config.DATABASE_URL, REDIS_URL: config.REDIS_URL });
  const sql = await openSqlClient({ databaseUrl: DATABASE_URL });
  const events = await openEventStream(REDIS_URL, config.REDIS_PREFIX, (error) => logger.error({ err: error }, 'redis error'));
  const subgraph = await createInstagramSubgraph({
    sql,
    events,
    logger,
    jwtSecret: config.JWT_SECRET,
    jwtTtlSeconds: config.JWT_TTL_SECONDS,
    gatewaySecret: config.GATEWAY_SECRET,
    seed: config.SEED_DEMO_DATA,
  });
  await subgraph.listen(config.INSTAGRAM_PORT);
  return {
    async stop() {
      await subgraph.stop();
      await events.close();
      await sql.close();
    },
  };
});
