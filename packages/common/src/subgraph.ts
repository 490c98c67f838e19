/** Builds and serves a Federation 2 subgraph over HTTP and graphql-ws, behind the gateway's signed assertions. */
import type { IncomingMessage } from 'node:http';
import { ApolloServer, type BaseContext } from '@apollo/server';
import {
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { context, SpanKind, trace, type Span } from '@opentelemetry/api';
import {
  getOperationAST,
  GraphQLError,
  parse,
  subscribe,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLSchema,
} from 'graphql';
import { CloseCode, type SubscribePayload } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import { decodeJwt } from 'jose';
import { WebSocketServer } from 'ws';
import {
  GATEWAY_ASSERTION_HEADER,
  GATEWAY_ASSERTION_PARAM,
  REQUEST_ID_HEADER,
  REQUEST_ID_PARAM,
  requestIdOr,
  verifyGatewayAssertion,
  type GatewayAssertion,
  type Viewer,
} from './auth.js';
import { codedError, createErrorFormatter, ErrorCode, unauthenticated, webSocketErrorHooks } from './errors.js';
import { graphqlHandler, listen, MAX_BODY_BYTES, router, type HttpService } from './http.js';
import type { Db } from './db.js';
import type { Logger } from './logger.js';
import { createMetrics, metricsRoute, observabilityPlugin, type Metrics } from './metrics.js';
import { healthRoutes } from './health.js';
import { storableTextPlugin, unstorableTextIn } from './storableText.js';
import {
  markFailed,
  OPERATION_NAME_ATTRIBUTE,
  OPERATION_TYPE_ATTRIBUTE,
  remoteParent,
  serviceTracer,
  tracedRoute,
  tracingPlugin,
} from './tracing.js';

/** What every subgraph request knows before the service adds its own parts: what the gateway vouches for, and more. */
export interface RequestInfo extends GatewayAssertion {
  /** The viewer's user id as the database stores it: `viewer.id` as a number, or null for an anonymous visitor. */
  viewerId: number | null;
  requestId: string;
  /** The service's logger, tagged with the request id. */
  logger: Logger;
}

/** A viewer's id as the database stores it (the gateway vouched for it, so it is a user id). */
const viewerIdOf = (viewer: Viewer | null): number | null => (viewer ? Number(viewer.id) : null);

/** What every subgraph's per-request context holds: the request, the service's database and this request's loaders. */
export interface SubgraphContext<TSchema extends Record<string, unknown>, TLoaders> extends RequestInfo {
  db: Db<TSchema>;
  loaders: TLoaders;
}

/**
 * What `createSubgraph` needs from a service: its SDL and resolvers, and how to build a context once the
 * gateway's assertion has been verified.
 */
export interface SubgraphOptions<TContext extends BaseContext & { requestId: string }> {
  name: string;
  typeDefs: DocumentNode;
  resolvers: SubgraphResolvers;
  /** Shared with the gateway; verifies the identity it asserts on each request. */
  gatewaySecret: string;
  logger: Logger;
  /** Builds the per-request context, with fresh DataLoaders. */
  createContext(request: RequestInfo): TContext;
  /** Readiness: resolves when the service can serve (its database answers). */
  checkReady(): Promise<void>;
  /** Also serve graphql-ws subscriptions on /graphql, for the gateway's subscription fetches. */
  subscriptions?: boolean;
  /** The service's metrics, when it records some of its own; created otherwise. */
  metrics?: Metrics;
}

/** A subgraph built and ready to listen. */
export interface Subgraph {
  name: string;
  schema: GraphQLSchema;
  /** Starts serving on `port` (0 for a free one). */
  listen(port: number, host?: string): Promise<HttpService>;
  /** Closes WebSockets, finishes in-flight requests and stops Apollo Server. */
  stop(): Promise<void>;
  /** Open graphql-ws connections (from the gateway's subscription fetches). */
  openSockets(): number;
  metrics: Metrics;
}

/** WebSocket close code for a server going away (RFC 6455): clients reconnect, to another instance if there is one. */
export const CLOSE_GOING_AWAY = 1001;

/** A subgraph's resolver map, as `buildSubgraphSchema` takes it (its package exports the type only from a deep path). */
export type SubgraphResolvers = NonNullable<
  Exclude<Extract<Parameters<typeof buildSubgraphSchema>[0], unknown[]>[number], DocumentNode>['resolvers']
>;

/** What a subgraph keeps of one graphql-ws connection: what the gateway vouches for, and until when. */
type SocketAssertion = {
  assertion?: GatewayAssertion;
  /** When the newest assertion the gateway sent on this socket expires (epoch milliseconds). */
  expiresAt?: number;
};
/** A graphql-ws connection's `extra`: its socket and what it was vouched for. */
type SocketExtra = Extra & SocketAssertion;

const ASSERTION_EXPIRED = 'The gateway assertion has expired.';

/** Verifies an assertion sent over graphql-ws and reads when it expires; throws UNAUTHENTICATED as over HTTP. */
async function verifySocketAssertion(
  value: unknown,
  secret: string,
): Promise<{ assertion: GatewayAssertion; expiresAt: number }> {
  const token = typeof value === 'string' ? value : undefined;
  const assertion = await verifyGatewayAssertion(token, secret);
  // Verified, so it is a JWT with an expiry (jose refuses one whose `exp` is not a number).
  return { assertion, expiresAt: (decodeJwt(token!).exp ?? 0) * 1000 };
}

/**
 * Closes `extra.socket` with 4401 once the newest assertion it was sent has expired: a socket must not outlive what
 * let it in (an assertion replayed from a stolen copy, say). The gateway keeps its sockets alive with fresh ones.
 */
function closeWhenAssertionExpires(extra: SocketExtra): void {
  let timer: NodeJS.Timeout;
  const check = () => {
    const left = (extra.expiresAt ?? 0) - Date.now();
    if (left <= 0) {
      extra.socket.close(CloseCode.Unauthorized, ASSERTION_EXPIRED);
      return;
    }
    timer = setTimeout(check, left);
    timer.unref();
  };
  check();
  extra.socket.once('close', () => clearTimeout(timer));
}

/** Takes a fresh assertion from a ping's payload; one that fails, or names someone else, closes the socket with 4401. */
async function refreshSocketAssertion(extra: SocketExtra, value: unknown, secret: string): Promise<void> {
  try {
    const fresh = await verifySocketAssertion(value, secret);
    if (fresh.assertion.viewer?.id !== extra.assertion?.viewer?.id)
      throw new Error('The assertion names another viewer.');
    extra.assertion = fresh.assertion;
    extra.expiresAt = Math.max(extra.expiresAt ?? 0, fresh.expiresAt);
  } catch {
    extra.socket.close(CloseCode.Unauthorized, 'Unauthorized');
  }
}

/** The viewer's assertion the gateway signed for one subscription, from its subscribe message's `extensions`. */
function subscriptionAssertion(extensions: Record<string, unknown> | null | undefined): string | undefined {
  const value = extensions?.[GATEWAY_ASSERTION_PARAM];
  return typeof value === 'string' ? value : undefined;
}

function unauthenticatedHttp(error: unknown): never {
  if (error instanceof GraphQLError) {
    throw new GraphQLError(error.message, { extensions: { ...error.extensions, http: { status: 401 } } });
  }
  throw error;
}

/**
 * Builds a Federation 2 subgraph server. Every request must carry the gateway's signed assertion; one that does not
 * (a client calling the subgraph directly, or forging an identity) is refused with 401 UNAUTHENTICATED.
 */
export async function createSubgraph<TContext extends BaseContext & { requestId: string }>(
  options: SubgraphOptions<TContext>,
): Promise<Subgraph> {
  const {
    name,
    typeDefs,
    resolvers,
    gatewaySecret,
    logger,
    createContext,
    checkReady,
    subscriptions = false,
  } = options;
  const metrics = options.metrics ?? createMetrics(name);
  const schema = buildSubgraphSchema([{ typeDefs, resolvers }]);
  const formatError = createErrorFormatter((error) => logger.error({ err: error }, 'unexpected error'));
  const apollo = new ApolloServer<TContext>({
    schema,
    includeStacktraceInErrorResponses: false,
    // Shutdown is ours: runUntilSignalled stops every service in order.
    stopOnTerminationSignals: false,
    formatError,
    // The gateway sends the fetches one plan step makes to this subgraph as one batch, which shares one context (and
    // so one set of DataLoaders): see the gateway's datasource.ts.
    allowBatchedHttpRequests: true,
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      observabilityPlugin<TContext>(metrics, logger),
      tracingPlugin<TContext>(),
      storableTextPlugin<TContext>(),
    ],
  });
  await apollo.start();

  const contextFor = async (req: IncomingMessage): Promise<TContext> => {
    const assertion = await verifyGatewayAssertion(
      req.headers[GATEWAY_ASSERTION_HEADER] as string | undefined,
      gatewaySecret,
    ).catch(unauthenticatedHttp);
    const requestId = requestIdOr(req.headers[REQUEST_ID_HEADER]);
    return createContext({
      ...assertion,
      viewerId: viewerIdOf(assertion.viewer),
      requestId,
      logger: logger.child({ requestId }),
    });
  };

  const tracer = serviceTracer(name);
  /**
   * Admits one subscription from the gateway's shared connection: checks the socket's and the subscription's own
   * assertion, parses and validates, and builds the subscription's context. The socket's expiry is checked again per
   * subscription, in case its timer has not run yet. The connection is the gateway's, shared by many clients: who is
   * asking comes with each subscription, signed by the gateway, and a refusal ends that subscription alone, never the
   * connection the others run on.
   */
  const admitSubscription = async (
    extra: SocketExtra,
    payload: SubscribePayload,
  ): Promise<ExecutionArgs | readonly GraphQLError[]> => {
    if ((extra.expiresAt ?? 0) <= Date.now()) {
      extra.socket.close(CloseCode.Unauthorized, ASSERTION_EXPIRED);
      return [unauthenticated(ASSERTION_EXPIRED)];
    }
    let assertion: GatewayAssertion;
    try {
      assertion = await verifyGatewayAssertion(subscriptionAssertion(payload.extensions), gatewaySecret);
    } catch (error) {
      if (error instanceof GraphQLError) return [error];
      throw error;
    }
    let document: DocumentNode;
    try {
      document = parse(payload.query);
    } catch (error) {
      // Thrown to graphql-ws, a syntax error would close the shared connection (4500).
      return [codedError(ErrorCode.ParseFailed, error instanceof GraphQLError ? error.message : 'Unparsable')];
    }
    const variableValues = payload.variables ?? {};
    const invalid = validate(schema, document);
    if (invalid.length) return invalid.map((error) => codedError(ErrorCode.ValidationFailed, error.message));
    const error = unstorableTextIn(document, variableValues);
    if (error) return [error];
    // The gateway names the client socket this subscription serves, so it can be followed in the logs.
    const requestId = requestIdOr(payload.extensions?.[REQUEST_ID_PARAM]);
    const contextValue = createContext({
      ...assertion,
      viewerId: viewerIdOf(assertion.viewer),
      requestId,
      logger: logger.child({ requestId }),
    });
    return { schema, document, operationName: payload.operationName, variableValues, contextValue };
  };
  /**
   * The span of each subscription from its subscribe message until it has started, by the arguments it starts with:
   * a child of the gateway's span named in the message's `extensions`, so it joins the client's trace.
   */
  const startingSpans = new WeakMap<ExecutionArgs, Span>();

  let http: HttpService | undefined;
  let wsServer: WebSocketServer | undefined;
  let stopping = false;

  const routes = healthRoutes({
    isStopping: () => stopping,
    checkReady: async () => {
      try {
        await checkReady();
        return { ready: true };
      } catch (error) {
        logger.warn({ err: error }, 'readiness check failed');
        return { ready: false };
      }
    },
  });

  return {
    name,
    schema,
    async listen(port, host) {
      const handler = router(
        {
          '/graphql': tracedRoute(tracer, graphqlHandler(apollo, contextFor)),
          // Subgraphs are reached by the gateway only, so their metrics can sit on the same port.
          '/metrics': metricsRoute(metrics),
          ...routes,
        },
        (error) => logger.error({ err: error }, 'request failed'),
      );
      http = await listen(handler, port, host);
      if (subscriptions) {
        // Frames are bounded like HTTP bodies; a larger one closes the socket with 1009 before anything runs.
        wsServer = new WebSocketServer({ server: http.server, path: '/graphql', maxPayload: MAX_BODY_BYTES });
        wsServer.on('connection', (socket) => {
          metrics.openWebSockets.inc();
          socket.once('close', () => metrics.openWebSockets.dec());
        });
        useServer<Record<string, unknown>, SocketAssertion>(
          {
            schema,
            onConnect: async (ctx) => {
              try {
                Object.assign(
                  ctx.extra,
                  await verifySocketAssertion(ctx.connectionParams?.[GATEWAY_ASSERTION_PARAM], gatewaySecret),
                );
              } catch {
                return false;
              }
              closeWhenAssertionExpires(ctx.extra);
              return true;
            },
            onPing: async (ctx, payload) => {
              if (payload && GATEWAY_ASSERTION_PARAM in payload) {
                await refreshSocketAssertion(ctx.extra, payload[GATEWAY_ASSERTION_PARAM], gatewaySecret);
              }
            },
            // Admitted in a span of its own, child of the gateway's span its `extensions` name (`traceparent`).
            onSubscribe: async (ctx, _id, payload) => {
              const span = tracer.startSpan(
                'subscription',
                { kind: SpanKind.SERVER, attributes: { [OPERATION_TYPE_ATTRIBUTE]: 'subscription' } },
                remoteParent(payload.extensions),
              );
              try {
                const admitted = await admitSubscription(ctx.extra, payload);
                if (!Array.isArray(admitted)) {
                  const args = admitted as ExecutionArgs;
                  const operationName = getOperationAST(args.document, args.operationName)?.name?.value;
                  if (operationName) {
                    span.updateName(`subscription ${operationName}`);
                    span.setAttribute(OPERATION_NAME_ATTRIBUTE, operationName);
                  }
                  startingSpans.set(args, span);
                  return args;
                }
                span.setAttribute('error.type', String(admitted[0]?.extensions.code ?? 'GraphQLError'));
                span.end();
                return admitted;
              } catch (error) {
                markFailed(span, error);
                span.end();
                throw error;
              }
            },
            // The subscription starts (its source stream opens, `after` replays begin) inside its span.
            subscribe: async (args) => {
              const span = startingSpans.get(args);
              if (!span) return subscribe(args);
              try {
                return await context.with(trace.setSpan(context.active(), span), () => subscribe(args));
              } finally {
                span.end();
              }
            },
            // Errors go through the same masking as over HTTP: coded errors as they are, nothing else.
            ...webSocketErrorHooks(formatError),
          },
          wsServer,
        );
      }
      logger.info({ url: `${http.url}/graphql` }, `${name} subgraph listening`);
      return http;
    },
    openSockets: () => wsServer?.clients.size ?? 0,
    metrics,
    async stop() {
      stopping = true;
      for (const client of wsServer?.clients ?? []) client.close(CLOSE_GOING_AWAY, 'Server is shutting down');
      await new Promise<void>((resolve) => (wsServer ? wsServer.close(() => resolve()) : resolve()));
      await http?.close();
      await apollo.stop();
    },
  };
}
