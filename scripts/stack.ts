/** The whole supergraph in one process: subgraphs, then the gateway, on shared connections (start, tests, bench). */
import {
  createLogger,
  openEventStream,
  openPubSub,
  openRateLimitStore,
  openSqlClient,
  type DestinationStream,
  type EventStream,
  type HttpService,
  type SqlClient,
  type Subgraph,
} from '@igt/common';
import { createGateway, type GatewayOptions } from '@igt/gateway';
import { createInstagramSubgraph, type AccountLimits } from '@igt/instagram';
import { createMessagingSubgraph, type SendLimits, type TypingLimits } from '@igt/messaging';
import { createThreadsSubgraph } from '@igt/threads';

/** Everything `startStack` needs, already parsed: `npm start` builds it from the environment, the tests directly. */
export interface StackOptions {
  /** PostgreSQL URL; unset runs on embedded PGlite. */
  databaseUrl?: string | undefined;
  /** Embedded database directory; unset keeps it in memory. */
  dataDir?: string | undefined;
  /** Redis URL; unset uses in-process pub/sub and streams. */
  redisUrl?: string | undefined;
  redisPrefix: string;
  ports: { gateway: number; instagram: number; threads: number; messaging: number };
  host?: string;
  jwtSecret: string;
  gatewaySecret: string;
  jwtTtlSeconds: number;
  introspection: boolean;
  /** Browser origins allowed to call the gateway (default `*`). */
  corsOrigins?: '*' | string[];
  /** Log level of every service (each logs as itself). */
  logLevel?: string;
  /** Where logs go (stdout by default). */
  logDestination?: DestinationStream;
  /** How often Threads and Messaging catch up with relationship changes in the background (0: only when they need to). */
  catchUpIntervalMs?: number;
  /** How often the gateway pings WebSocket clients. */
  keepAliveMs?: number;
  /** The gateway's subgraph deadline, pool size and metrics listener (GatewayOptions). */
  gateway?: Pick<
    GatewayOptions,
    'subgraphTimeoutMs' | 'maxSubgraphConnections' | 'internalPort' | 'internalHost' | 'trustedProxies'
  >;
  /** Called with every SQL statement any subgraph runs. */
  onQuery?: (sql: string) => void;
  seed?: boolean;
  /**
   * Abuse limits: sign-in and sign-up (Instagram's ACCOUNT_LIMITS by default), sending DMs and typing indicators
   * (Messaging's SEND_LIMITS and TYPING_LIMITS).
   */
  limits?: { accounts?: Partial<AccountLimits>; sending?: Partial<SendLimits>; typing?: Partial<TypingLimits> };
  /** How long a typing indicator lasts unless renewed, in milliseconds (Messaging's TYPING_TTL_MS by default). */
  typingTtlMs?: number;
}

/** The running supergraph. `stop()` stops the gateway first, then the subgraphs, then the connections they share. */
export interface Stack {
  gatewayUrl: string;
  /** The gateway's internal listener (`/metrics`, `/health/subgraphs`), when a port was configured. */
  gatewayInternalUrl: string | undefined;
  subgraphUrls: { instagram: string; threads: string; messaging: string };
  subgraphs: { instagram: Subgraph; threads: Subgraph; messaging: Subgraph };
  /** The database connection and the event stream the subgraphs share (for tests that look at what they store). */
  shared: { sql: SqlClient; events: EventStream };
  stop(): Promise<void>;
}

/**
 * Runs the whole supergraph in one process: the three subgraphs on one database connection (embedded PGlite by
 * default), then the gateway in front of them. Used by `npm start` and by the tests.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  const { ports, host, seed = true, limits = {} } = options;
  const { logLevel = 'info' } = options;
  const log = (service: string) => createLogger(service, logLevel, options.logDestination);
  const logger = log('stack');
  const onError = (error: unknown) => logger.error({ err: error }, 'redis connection error');
  const sql = await openSqlClient({
    databaseUrl: options.databaseUrl,
    dataDir: options.dataDir,
    onQuery: options.onQuery,
  });
  const pubsub = await openPubSub(options.redisUrl, options.redisPrefix, onError);
  const events = await openEventStream(options.redisUrl, options.redisPrefix, onError);
  const rateLimits = await openRateLimitStore(options.redisUrl, options.redisPrefix, onError);
  const common = { sql, gatewaySecret: options.gatewaySecret, seed };

  const instagram = await createInstagramSubgraph({
    ...common,
    events,
    logger: log('instagram'),
    jwtSecret: options.jwtSecret,
    jwtTtlSeconds: options.jwtTtlSeconds,
    rateLimits,
    ...(limits.accounts ? { limits: limits.accounts } : {}),
  });
  // Threads and Messaging keep projections of Instagram's relationships stream.
  const catchUp = options.catchUpIntervalMs === undefined ? {} : { catchUpIntervalMs: options.catchUpIntervalMs };
  const threads = await createThreadsSubgraph({ ...common, events, logger: log('threads'), ...catchUp });
  const sending = limits.sending ? { limits: limits.sending } : {};
  const messaging = await createMessagingSubgraph({
    ...common,
    pubsub,
    events,
    rateLimits,
    logger: log('messaging'),
    ...catchUp,
    ...sending,
    typingLimits: limits.typing,
    typingTtlMs: options.typingTtlMs,
  });
  const servers: HttpService[] = [];
  servers.push(await instagram.listen(ports.instagram, host));
  servers.push(await threads.listen(ports.threads, host));
  servers.push(await messaging.listen(ports.messaging, host));
  const subgraphUrls = {
    instagram: `${servers[0]!.url}/graphql`,
    threads: `${servers[1]!.url}/graphql`,
    messaging: `${servers[2]!.url}/graphql`,
  };
  const gateway = await createGateway({
    subgraphUrls,
    jwtSecret: options.jwtSecret,
    gatewaySecret: options.gatewaySecret,
    introspection: options.introspection,
    ...(options.corsOrigins ? { corsOrigins: options.corsOrigins } : {}),
    logger: log('gateway'),
    ...(options.keepAliveMs ? { keepAliveMs: options.keepAliveMs } : {}),
    ...options.gateway,
  });
  const gatewayHttp = await gateway.listen(ports.gateway, host);

  return {
    gatewayUrl: `${gatewayHttp.url}/graphql`,
    gatewayInternalUrl: gateway.internalUrl,
    subgraphUrls,
    subgraphs: { instagram, threads, messaging },
    shared: { sql, events },
    async stop() {
      await gateway.stop();
      await Promise.all([instagram.stop(), threads.stop(), messaging.stop()]);
      await Promise.all([pubsub.close(), events.close(), rateLimits.close()]);
      await sql.close();
    },
  };
}
