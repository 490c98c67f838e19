/** Runs the Threads subgraph on its own, configured from the environment (PostgreSQL and Redis required). */
import { tracing } from './tracing.js';
import { createLogger, openEventStream, openSqlClient, requireForStandalone, runUntilSignalled } from '@igt/common';
import { loadConfig } from './config.js';
import { createThreadsSubgraph } from './server.js';

const config = loadConfig();
const logger = createLogger('threads', config.LOG_LEVEL);
await runUntilSignalled(logger, async () => {
  // Redis carries Instagram's relationships stream, which Threads follows for blocks.
  const { DATABASE_URL, REDIS_URL } = requireForStandalone('threads', {
    DATABASE_URL: config.DATABASE_URL,
    REDIS_URL: config.REDIS_URL,
  });
  const sql = await openSqlClient({ databaseUrl: DATABASE_URL });
  const events = await openEventStream(REDIS_URL, config.REDIS_PREFIX, (error) =>
    logger.error({ err: error }, 'redis error'),
  );
  const subgraph = await createThreadsSubgraph({
    sql,
    events,
    logger,
    gatewaySecret: config.GATEWAY_SECRET,
    seed: config.SEED_DEMO_DATA,
  });
  await subgraph.listen(config.THREADS_PORT);
  return {
    async stop() {
      await subgraph.stop();
      await events.close();
      await sql.close();
      await tracing?.shutdown();
    },
  };
});
