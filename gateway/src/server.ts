/** Builds the gateway: Apollo Server and Gateway over HTTP (with `@defer`), subscriptions over three transports, health, metrics. */
import { readFileSync } from 'node:fs';
import proxyAddr from 'proxy-addr';
import type { IncomingMessage } from 'node:http';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { GraphQLError } from 'graphql';
import {
  createErrorFormatter,
  createMetrics,
  graphqlHandler,
  listen,
  metricsRoute,
  observabilityPlugin,
  healthRoutes,
  router,
  sendJson,
  viewerFromAuthorization,
  withCors,
  type HttpService,
  type Logger,
  REQUEST_ID_HEADER,
  requestIdOr,
  type RouteHandler,
  serviceTracer,
  tracedRoute,
  tracingPlugin,
} from '@igt/common';
import { createGatewayContext, type GatewayContext } from './context.js';
import { deferLabelsRule, deferredIntrospectionRule, deferredQueries, withDeferDirective } from './defer.js';
import { DeferredQueryExecutor } from './deferredExecution.js';
import { EXPLORER_PATH, explorerRoutes } from './explorer.js';
import { landingPageRoutes } from './landingPage.js';
import { operationLimits, withoutSchemaHints } from './limits.js';
import { operationResolution, screenHttpQuery } from './operationResolution.js';
import { SubgraphDataSource } from './datasource.js';
import { serveHttpSubscriptions } from './httpSubscriptions.js';
import { cachedFor, SUBGRAPH_PROBE_INTERVAL_MS, subgraphHealth } from './subgraphHealth.js';
import { SubscriptionGate } from './subscriptionGate.js';
import { SubscriptionExecutor } from './subscriptions.js';
import { UPSTREAM_TIMING } from './upstream.js';
import { serveWebSocket } from './websocket.js';

export { EXPLORER_PATH } from './explorer.js';
export { schemaWithDefer } from './defer.js';

/** The committed supergraph, composed from schema/*.graphql by `npm run compose`. */
export const SUPERGRAPH_PATH = new URL('../../schema/supergraph.graphql', import.meta.url);

/** What the gateway needs from whoever starts it; only index.ts reads the environment, the stack and tests do not. */
export interface GatewayOptions {
  /** Subgraph name → its `/graphql` URL. */
  subgraphUrls: Record<string, string>;
  jwtSecret: string;
  gatewaySecret: string;
  /** Introspection, the Apollo Sandbox landing page and the explorer at /explorer (default on). */
  introspection?: boolean;
  logger: Logger;
  /** Supergraph SDL; the committed one by default. */
  supergraphSdl?: string;
  /** How often WebSocket clients are pinged (default 12 s); one that misses a pong is dropped. */
  keepAliveMs?: number;
  /** Browser origins allowed to call the gateway (default `*`). */
  corsOrigins?: '*' | string[];
  /**
   * How long a subgraph has to answer one fetch, a WebSocket handshake or a ping (default 10 s); past it the
   * request gets the other subgraphs' data and SUBGRAPH_UNAVAILABLE for the missing part.
   */
  subgraphTimeoutMs?: number;
  /** Connections the gateway holds to one subgraph at most (default 64). */
  maxSubgraphConnections?: number;
  /** WebSocket connections to one subgraph that all clients' subscriptions share (default 4). */
  upstreamSocketsPerSubgraph?: number;
  /**
   * Port of the internal listener, apart from the public one (0 for a free one): Prometheus `/metrics` and
   * `/health/subgraphs`, for operators. Unset serves neither. It listens on `internalHost` (default 127.0.0.1: only
   * this machine, unless the operator opens it to a scraper).
   */
  internalPort?: number;
  internalHost?: string;
  /**
   * Proxies (load balancers) whose `X-Forwarded-For` is believed, as `proxy-addr` takes them: addresses, CIDR ranges,
   * or `loopback`, `linklocal`, `uniquelocal` (default none: the client is whoever opened the connection). Behind a
   * load balancer, list it, or every client would share its address in the per-address abuse limits.
   */
  trustedProxies?: string[];
  /** Open WebSockets and HTTP subscription streams one client address may hold at once, together (default 100). */
  maxSocketsPerAddress?: number;
  /** Open WebSockets and HTTP subscription streams one signed-in account may hold at once, together (default 10). */
  maxSocketsPerAccount?: number;
  /** How often an idle HTTP subscription stream (multipart or SSE) sends a heartbeat (default 10 s). */
  subscriptionHeartbeatMs?: number;
}

/** A gateway built by `createGateway` and not yet listening: index.ts listens on the configured port, tests on 0. */
export interface Gateway {
  listen(port: number, host?: string): Promise<HttpService>;
  /** The internal listener's base URL once listening (`/metrics`, `/health/subgraphs`), when a port was configured. */
  readonly internalUrl: string | undefined;
  /**
   * Ends every subscription stream (SERVICE_UNAVAILABLE) and closes WebSockets (1001), so clients resubscribe
   * elsewhere with `after`; finishes in-flight requests and stops.
   */
  stop(): Promise<void>;
}

/**
 * Builds the gateway: Apollo Server + Apollo Gateway over HTTP; subscriptions on the same path over graphql-ws,
 * multipart HTTP and SSE, all through one SubscriptionGate.
 */
export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const {
    subgraphUrls,
    jwtSecret,
    gatewaySecret,
    introspection = true,
    logger,
    subgraphTimeoutMs = 10_000,
    maxSubgraphConnections = 64,
  } = options;
  const supergraphSdl = options.supergraphSdl ?? readFileSync(SUPERGRAPH_PATH, 'utf8');
  const metrics = createMetrics('gateway');
  // One data source per subgraph, made here: queries (through @apollo/gateway) and subscription events (through the
  // executor) share them, and with them the connection pools.
  const dataSources = new Map(
    Object.entries(subgraphUrls).map(([name, url]) => [
      name,
      new SubgraphDataSource(name, url, metrics, logger, {
        timeoutMs: subgraphTimeoutMs,
        maxConnections: maxSubgraphConnections,
      }),
    ]),
  );
  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name }) => {
      const source = dataSources.get(name);
      if (!source)
        throw new Error(
          `No URL configured for subgraph "${name}" (subgraphUrls names ${[...dataSources.keys()].join(', ')})`,
        );
      return source;
    },
  });
  const executor = new SubscriptionExecutor(supergraphSdl, Object.fromEntries(dataSources), logger, metrics);
  const deferredExecutor = new DeferredQueryExecutor(supergraphSdl, Object.fromEntries(dataSources), logger);
  const limits = operationLimits<GatewayContext>();
  const formatError = withoutSchemaHints(
    createErrorFormatter((error) => logger.error({ err: error }, 'unexpected error')),
    !introspection,
  );
  const apollo = new ApolloServer<GatewayContext>({
    gateway: withDeferDirective(gateway),
    validationRules: [...limits.validationRules, deferLabelsRule, deferredIntrospectionRule],
    introspection,
    includeStacktraceInErrorResponses: false,
    // Shutdown is ours: runUntilSignalled stops every service in order.
    stopOnTerminationSignals: false,
    formatError,
    plugins: [
      ...limits.plugins,
      observabilityPlugin<GatewayContext>(metrics, logger),
      tracingPlugin<GatewayContext>(),
      operationResolution,
      deferredQueries(deferredExecutor, formatError, logger),
      // Browsers get the gateway's own landing page (landingPage.ts), not Apollo Server's.
      ApolloServerPluginLandingPageDisabled(),
    ],
  });
  await apollo.start();

  const trust = proxyAddr.compile(options.trustedProxies ?? []);
  /** The client's address: the connection's, or the one a trusted proxy says it forwarded for. */
  const clientAddressOf = (req: IncomingMessage) => proxyAddr(req, trust);
  // One path for every subscription transport: the same checks, viewer, limits and upstream pool.
  const gate = new SubscriptionGate({
    schema: executor.apiSchema,
    executor,
    validationRules: limits.validationRules,
    subgraphUrls,
    jwtSecret,
    gatewaySecret,
    logger,
    upstreamTiming: { ...UPSTREAM_TIMING, answerMs: subgraphTimeoutMs },
    upstreamSocketsPerSubgraph: options.upstreamSocketsPerSubgraph,
    clientAddressOf,
    maxConnectionsPerAddress: options.maxSocketsPerAddress,
    maxConnectionsPerAccount: options.maxSocketsPerAccount,
  });
  const streams = serveHttpSubscriptions({
    gate,
    metrics,
    formatError,
    ...(options.subscriptionHeartbeatMs ? { heartbeatMs: options.subscriptionHeartbeatMs } : {}),
  });

  const contextFor = async (req: IncomingMessage): Promise<GatewayContext> => {
    const viewer = await viewerFromAuthorization(req.headers.authorization, jwtSecret).catch((error: unknown) => {
      if (error instanceof GraphQLError) {
        throw new GraphQLError(error.message, { extensions: { ...error.extensions, http: { status: 401 } } });
      }
      throw error;
    });
    return createGatewayContext(viewer, gatewaySecret, {
      clientAddress: clientAddressOf(req),
      requestId: requestIdOr(req.headers[REQUEST_ID_HEADER]),
    });
  };

  let http: HttpService | undefined;
  let internalHttp: HttpService | undefined;
  let sockets: ReturnType<typeof serveWebSocket> | undefined;
  let stopping = false;

  // Ready means this gateway can serve: it has its schema and is not stopping. A subgraph that is away costs only the
  // fields it owns (coded errors, the rest answered), so it must not take the gateway out of a load balancer.
  const routes = healthRoutes({ isStopping: () => stopping, checkReady: async () => ({ ready: true }) });
  // For operators only, on the internal listener with the metrics: each subgraph's state and why it is away. Probes
  // run at most once per interval, however often it is asked.
  const probeSubgraphs = cachedFor(SUBGRAPH_PROBE_INTERVAL_MS, () => subgraphHealth(subgraphUrls, gatewaySecret));
  const internalRoutes: Record<string, RouteHandler> = {
    '/metrics': metricsRoute(metrics),
    '/health/subgraphs': async (_req, res) => {
      const subgraphs = await probeSubgraphs();
      const ok = Object.values(subgraphs).every((health) => health.status === 'ok');
      sendJson(res, ok ? 200 : 503, { status: ok ? 'ok' : 'degraded', subgraphs });
    },
  };

  return {
    async listen(port, host) {
      const graphql = withCors(
        tracedRoute(
          serviceTracer('gateway'),
          graphqlHandler(apollo, contextFor, { screen: screenHttpQuery, takeover: streams.takeover }),
        ),
        options.corsOrigins ?? '*',
      );
      // The landing page (Apollo Sandbox) and the explorer are for exploring the schema: off with introspection.
      const pages = introspection
        ? { ...landingPageRoutes(['/', '/graphql'], graphql, EXPLORER_PATH), ...explorerRoutes() }
        : { '/': graphql, '/graphql': graphql };
      const handler = router(
        {
          ...pages,
          ...routes,
        },
        (error) => logger.error({ err: error }, 'request failed'),
      );
      http = await listen(handler, port, host);
      sockets = serveWebSocket({
        server: http.server,
        apollo,
        gate,
        metrics,
        formatError,
        ...(options.keepAliveMs ? { keepAliveMs: options.keepAliveMs } : {}),
      });
      if (options.internalPort !== undefined) {
        const internal = router(internalRoutes, (error) => logger.error({ err: error }, 'internal request failed'));
        internalHttp = await listen(internal, options.internalPort, options.internalHost ?? '127.0.0.1');
      }
      logger.info({ url: `${http.url}/graphql`, internal: internalHttp?.url ?? 'off' }, 'gateway listening');
      return http;
    },
    get internalUrl() {
      return internalHttp?.url;
    },
    async stop() {
      stopping = true;
      await streams.close();
      await sockets?.close();
      await gate.dispose();
      await http?.close();
      await internalHttp?.close();
      await apollo.stop();
      await Promise.all([...dataSources.values()].map((source) => source.close()));
    },
  };
}
