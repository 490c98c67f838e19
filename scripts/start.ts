/**
 * `npm start`: the whole supergraph in one process on an embedded database under DATA_DIR (or on DATABASE_URL and
 * REDIS_URL when set). Prints where to open Apollo Sandbox and the explorer; Ctrl-C or SIGTERM shuts everything down
 * cleanly.
 */
import { tracing } from './tracing.js';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  ConfigError,
  createLogger,
  DEMO_PASSWORD,
  DEMO_PEOPLE,
  developmentSecretsInUse,
  runUntilSignalled,
} from '@igt/common';
import { handTelemetryChoiceToApollo, loadConfig as loadGatewayConfig } from '@igt/gateway/config';
import { EXPLORER_PATH } from '@igt/gateway';
import { accountLimits, loadConfig as loadInstagramConfig } from '@igt/instagram/config';
import { loadConfig as loadThreadsConfig } from '@igt/threads/config';
import { loadConfig as loadMessagingConfig, sendLimits, typingLimits } from '@igt/messaging/config';
import { startStack } from './stack.js';

const startedAt = performance.now();
let gateway, instagram, threads, messaging;
try {
  gateway = loadGatewayConfig();
  instagram = loadInstagramConfig();
  threads = loadThreadsConfig();
  messaging = loadMessagingConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}

const logger = createLogger('supergraph', gateway.LOG_LEVEL);
handTelemetryChoiceToApollo(gateway);
const dataDir = gateway.DATABASE_URL ? undefined : resolve(gateway.DATA_DIR);
if (dataDir) mkdirSync(dataDir, { recursive: true });
for (const name of developmentSecretsInUse(gateway)) {
  logger.warn(`${name} is not set: using the development default, which is refused when NODE_ENV=production`);
}

await runUntilSignalled(logger, async () => {
  const stack = await startStack({
    databaseUrl: gateway.DATABASE_URL,
    dataDir,
    redisUrl: gateway.REDIS_URL,
    redisPrefix: gateway.REDIS_PREFIX,
    ports: {
      gateway: gateway.GATEWAY_PORT,
      instagram: instagram.INSTAGRAM_PORT,
      threads: threads.THREADS_PORT,
      messaging: messaging.MESSAGING_PORT,
    },
    jwtSecret: gateway.JWT_SECRET,
    gatewaySecret: gateway.GATEWAY_SECRET,
    jwtTtlSeconds: instagram.JWT_TTL_SECONDS,
    introspection: gateway.INTROSPECTION,
    corsOrigins: gateway.CORS_ORIGINS,
    logLevel: gateway.LOG_LEVEL,
    seed: gateway.SEED_DEMO_DATA,
    limits: { accounts: accountLimits(instagram), sending: sendLimits(messaging), typing: typingLimits(messaging) },
    gateway: {
      subgraphTimeoutMs: gateway.SUBGRAPH_TIMEOUT_MS,
      maxSubgraphConnections: gateway.SUBGRAPH_MAX_CONNECTIONS,
      internalPort: gateway.INTERNAL_PORT,
      internalHost: gateway.INTERNAL_HOST,
      trustedProxies: gateway.TRUSTED_PROXIES,
    },
  });
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
  const origin = new URL(stack.gatewayUrl).origin;
  const browsers = gateway.INTROSPECTION
    ? `
  Apollo Sandbox:  ${origin}/   (open it in a browser; it loads from Apollo's CDN)
  Explorer:        ${origin}${EXPLORER_PATH}   (GraphiQL, served by the gateway: works offline)`
    : `
  Apollo Sandbox and the explorer are off, with introspection (INTROSPECTION=true turns them on)`;
  console.log(`
  Supergraph ready in ${seconds}s — ${dataDir ? `embedded database in ${dataDir}` : 'PostgreSQL'}, ${gateway.REDIS_URL ? 'Redis' : 'in-process'} pub/sub
${browsers}
  GraphQL (HTTP):  ${stack.gatewayUrl}
  Subscriptions:   ${stack.gatewayUrl.replace(/^http/, 'ws')}
  Operators:       ${stack.gatewayInternalUrl}/metrics and /health/subgraphs   (this machine only)
  Demo logins:     ${DEMO_PEOPLE.map((p) => p.username).join(', ')} — password "${DEMO_PASSWORD}"
`);
  return {
    async stop() {
      await stack.stop();
      await tracing?.shutdown();
    },
  };
});
