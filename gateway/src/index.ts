/** Runs the gateway on its own, in front of subgraphs at the configured URLs. */
import { tracing } from './tracing.js';
import { createLogger, runUntilSignalled } from '@igt/common';
import { handTelemetryChoiceToApollo, loadConfig } from './config.js';
import { createGateway } from './server.js';

const config = loadConfig();
const logger = createLogger('gateway', config.LOG_LEVEL);
handTelemetryChoiceToApollo(config);
await runUntilSignalled(logger, async () => {
  const gateway = await createGateway({
    subgraphUrls: { instagram: config.INSTAGRAM_URL, threads: config.THREADS_URL, messaging: config.MESSAGING_URL },
    jwtSecret: config.JWT_SECRET,
    gatewaySecret: config.GATEWAY_SECRET,
    introspection: config.INTROSPECTION,
    corsOrigins: config.CORS_ORIGINS,
    subgraphTimeoutMs: config.SUBGRAPH_TIMEOUT_MS,
    maxSubgraphConnections: config.SUBGRAPH_MAX_CONNECTIONS,
    upstreamSocketsPerSubgraph: config.SUBGRAPH_WEBSOCKETS,
    internalPort: config.INTERNAL_PORT,
    internalHost: config.INTERNAL_HOST,
    trustedProxies: config.TRUSTED_PROXIES,
    maxSocketsPerAddress: config.MAX_SOCKETS_PER_ADDRESS,
    maxSocketsPerAccount: config.MAX_SOCKETS_PER_ACCOUNT,
    logger,
  });
  await gateway.listen(config.GATEWAY_PORT);
  return {
    async stop() {
      await gateway.stop();
      await tracing?.shutdown();
    },
  };
});
