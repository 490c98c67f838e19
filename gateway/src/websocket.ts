/** The gateway's graphql-ws endpoint: authentication, validation and limits as over HTTP, subscriptions per socket. */
import type { IncomingMessage, Server } from 'node:http';
import type { ApolloServer } from '@apollo/server';
import { context as otelContext, SpanKind, trace, type Context } from '@opentelemetry/api';
import { CloseCode, type SubscribePayload } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import {
  getOperationAST,
  getVariableValues,
  GraphQLError,
  parse,
  print,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  CLOSE_GOING_AWAY,
  codedError,
  ErrorCode,
  inSpan,
  internalError,
  markFailed,
  MAX_BODY_BYTES,
  OPERATION_NAME_ATTRIBUTE,
  OPERATION_TYPE_ATTRIBUTE,
  remoteParent,
  serviceTracer,
  REQUEST_ID_HEADER,
  requestIdOr,
  viewerFromAuthorization,
  webSocketErrorHooks,
  type createErrorFormatter,
  type Logger,
  type Metrics,
} from '@igt/common';
import { createGatewayContext, type GatewayContext } from './context.js';
import { conditionalSubscriptionField, unresolvedOperation } from './operationResolution.js';
import type { SubscriptionExecutor } from './subscriptions.js';
import { SocketSubscriptions, UpstreamPool, type UpstreamTiming } from './upstream.js';

/**
 * What `serveWebSocket` needs; `createGateway` hands over what it built for HTTP, so both transports
 * validate, authenticate and format errors alike.
 */
export interface WebSocketOptions {
  server: Server;
  schema: GraphQLSchema;
  apollo: ApolloServer<GatewayContext>;
  executor: SubscriptionExecutor;
  /** Extra validation (operation limits), as over HTTP. */
  validationRules: ValidationRule[];
  subgraphUrls: Record<string, string>;
  jwtSecret: string;
  gatewaySecret: string;
  metrics: Metrics;
  logger: Logger;
  /** The HTTP endpoint's error formatter, applied to everything sent over WebSocket too. */
  formatError: ReturnType<typeof createErrorFormatter>;
  /** How often idle sockets are pinged; a socket that misses a pong is closed. */
  keepAliveMs?: number;
  /** Pings to subgraphs and the deadlines of their answers. */
  upstreamTiming: UpstreamTiming;
  /** WebSocket connections to one subgraph that every client's subscriptions share (default 4). */
  upstreamSocketsPerSubgraph?: number;
  /** The client's address behind the upgrade request, as over HTTP (trusted proxies believed). */
  clientAddressOf(request: IncomingMessage): string;
  /** Open WebSockets one client address may hold at once (default 100: many people can share one address). */
  maxSocketsPerAddress?: number;
  /** Open WebSockets one signed-in account may hold at once, across its devices (default 10). */
  maxSocketsPerAccount?: number;
}

/** The context of one WebSocket connection: the viewer, and its subscriptions on subgraphs. */
interface SocketContext extends GatewayContext {
  upstream: SocketSubscriptions;
}

type ConnectionExtra = {
  context?: SocketContext;
};

/** Subscriptions one WebSocket connection may run at once (each one holds a subscription on a subgraph). */
const MAX_SUBSCRIPTIONS_PER_SOCKET = 20;

/** The longest delay setTimeout takes. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Closes `socket` with 4401 when the token it signed in with expires, as a new connection with that token would be
 * refused: a long-lived socket must not outlive its credentials. The client reconnects with a fresh token.
 */
function closeWhenExpired(socket: WebSocket, expiresAt: number): void {
  let timer: NodeJS.Timeout;
  const arm = () => {
    const left = expiresAt - Date.now();
    if (left <= 0) {
      socket.close(CloseCode.Unauthorized, 'The token has expired; sign in again.');
      return;
    }
    timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
    timer.unref();
  };
  arm();
  socket.once('close', () => clearTimeout(timer));
}

/** Open sockets per key (a client address, an account), each counted until it closes. */
class SocketCounts {
  private readonly open = new Map<string, number>();

  constructor(private readonly max: number) {}

  /**
   * Counts `socket` against `key` until it closes; false (and not counted) when `key` already holds `max`, or when
   * the socket is already closing (graphql-ws still handles a message that arrived before the close, and a close
   * that has happened would never take the count back).
   */
  admit(key: string, socket: WebSocket): boolean {
    const count = this.open.get(key) ?? 0;
    if (count >= this.max || socket.readyState !== socket.OPEN) return false;
    this.open.set(key, count + 1);
    socket.once('close', () => {
      const left = (this.open.get(key) ?? 1) - 1;
      if (left > 0) this.open.set(key, left);
      else this.open.delete(key);
    });
    return true;
  }
}

/** Documents kept at most, and the longest query text kept, in a DocumentCache. */
const CACHED_DOCUMENTS = 500;
const CACHED_QUERY_CHARS = 10_000;

/**
 * Documents that parsed and validated, by their text: the subscribers of one query share one document (and so one
 * plan, see SubscriptionExecutor) rather than each holding their own, and skip parsing and validating again.
 * Bounded in entries and in the size of each, the least recently used going first.
 */
class DocumentCache {
  private readonly documents = new Map<string, DocumentNode>();

  get(query: string): DocumentNode | undefined {
    const document = this.documents.get(query);
    if (document) {
      this.documents.delete(query);
      this.documents.set(query, document);
    }
    return document;
  }

  remember(query: string, document: DocumentNode): void {
    if (query.length > CACHED_QUERY_CHARS) return;
    this.documents.set(query, document);
    if (this.documents.size > CACHED_DOCUMENTS) this.documents.delete(this.documents.keys().next().value!);
  }
}

/** Reads `Authorization` from graphql-ws connectionParams whatever its case (Apollo Sandbox sends its headers there). */
function authorizationParam(params: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const entry = Object.entries(params ?? {}).find(([key]) => key.toLowerCase() === 'authorization');
  return typeof entry?.[1] === 'string' ? entry[1] : undefined;
}

/**
 * Serves GraphQL over WebSocket (graphql-ws) on the gateway's `/graphql`: subscriptions through the
 * SubscriptionExecutor, queries and mutations through Apollo Server like HTTP ones.
 */
export function serveWebSocket(options: WebSocketOptions) {
  const {
    server,
    schema,
    apollo,
    executor,
    validationRules,
    subgraphUrls,
    jwtSecret,
    gatewaySecret,
    metrics,
    logger,
    formatError,
    keepAliveMs = 12_000,
    upstreamTiming,
    upstreamSocketsPerSubgraph,
    clientAddressOf,
    maxSocketsPerAddress = 100,
    maxSocketsPerAccount = 10,
  } = options;
  // Frames are bounded like HTTP bodies: `ws` would otherwise buffer (and graphql-ws parse) a frame of any size.
  const wss = new WebSocketServer({ server, path: '/graphql', maxPayload: MAX_BODY_BYTES });
  // Every client's subscriptions share a few connections per subgraph: a connection per client would cost the gateway
  // and the subgraph a socket per subscriber.
  const pool = new UpstreamPool(
    subgraphUrls,
    createGatewayContext(null, gatewaySecret),
    upstreamTiming,
    upstreamSocketsPerSubgraph,
  );
  const alive = new WeakMap<WebSocket, boolean>();
  const validDocuments = new DocumentCache();
  const tracer = serviceTracer('gateway');
  /**
   * The trace each operation joins, by the arguments it runs with: the `traceparent` in its subscribe message's
   * `extensions`, else the one in the connection's `connectionParams`, else a new trace.
   */
  const traceParents = new WeakMap<ExecutionArgs, Context>();
  /** The span of one operation over WebSocket, named by its type and name (`subscription NewMessages`). */
  const operationSpan = (args: ExecutionArgs) => {
    const ast = getOperationAST(args.document, args.operationName);
    const operation = ast?.operation ?? 'operation';
    const operationName = ast?.name?.value;
    const attributes = {
      [OPERATION_TYPE_ATTRIBUTE]: operation,
      ...(operationName ? { [OPERATION_NAME_ATTRIBUTE]: operationName } : {}),
    };
    const name = operationName ? `${operation} ${operationName}` : operation;
    return { name, options: { kind: SpanKind.SERVER, attributes }, parent: traceParents.get(args) };
  };
  /**
   * Parses and validates an operation as Apollo Server does over HTTP and with the same codes: graphql-ws would send
   * validation errors uncoded, and close the whole socket on a syntax error.
   */
  const admitOperation = (payload: SubscribePayload): ExecutionArgs | readonly GraphQLError[] => {
    let document = validDocuments.get(payload.query);
    if (!document) {
      try {
        document = parse(payload.query);
      } catch (error) {
        return [
          codedError(
            ErrorCode.ParseFailed,
            error instanceof GraphQLError ? error.message : 'The query could not be parsed.',
          ),
        ];
      }
      const conditional = conditionalSubscriptionField(document);
      if (conditional) return [conditional];
      const errors = validate(schema, document, [...specifiedRules, ...validationRules]);
      if (errors.length) return errors.map((error) => codedError(ErrorCode.ValidationFailed, error.message));
      validDocuments.remember(payload.query, document);
    }
    const operation = getOperationAST(document, payload.operationName);
    if (!operation) return [unresolvedOperation(payload.operationName)];
    if (operation.operation !== 'subscription') {
      // Apollo Server checks the variables of queries and mutations itself.
      return { schema, document, operationName: payload.operationName, variableValues: payload.variables };
    }
    // A subscription's variables go to a subgraph as they are: check them here, as over HTTP, so a client's
    // mistake is BAD_USER_INPUT and not an upstream failure the client would retry forever.
    const variables = getVariableValues(schema, operation.variableDefinitions ?? [], payload.variables ?? {});
    if (variables.errors) return variables.errors.map((error) => codedError(ErrorCode.BadUserInput, error.message));
    return { schema, document, operationName: payload.operationName, variableValues: variables.coerced };
  };
  // Each socket holds gateway memory and subscriptions on subgraphs: without a bound per client, one address
  // or one account could open them until the gateway runs out of memory.
  const perAddress = new SocketCounts(maxSocketsPerAddress);
  const perAccount = new SocketCounts(maxSocketsPerAccount);
  wss.on('connection', (socket, request) => {
    metrics.openWebSockets.inc();
    socket.once('close', () => metrics.openWebSockets.dec());
    if (!perAddress.admit(clientAddressOf(request), socket)) {
      socket.close(
        CloseCode.Forbidden,
        `At most ${maxSocketsPerAddress} connections from one address; close one first.`,
      );
      return;
    }
    alive.set(socket, true);
    socket.on('pong', () => alive.set(socket, true));
  });
  const heartbeat = setInterval(() => {
    for (const socket of wss.clients) {
      if (!alive.get(socket)) {
        socket.terminate();
        continue;
      }
      alive.set(socket, false);
      socket.ping();
    }
  }, keepAliveMs);
  heartbeat.unref();

  const disposable = useServer<Record<string, unknown>, ConnectionExtra>(
    {
      onSubscribe: (ctx, _id, payload) => {
        const admitted = admitOperation(payload);
        if (!Array.isArray(admitted)) {
          traceParents.set(admitted as ExecutionArgs, remoteParent(payload.extensions, ctx.connectionParams));
        }
        return admitted;
      },
      onConnect: async (ctx) => {
        // Refused on arrival (too many from its address), or gone: its connection_init is not worth a token check.
        if (ctx.extra.socket.readyState !== ctx.extra.socket.OPEN) return false;
        try {
          const viewer = await viewerFromAuthorization(authorizationParam(ctx.connectionParams), jwtSecret);
          if (viewer && !perAccount.admit(viewer.id, ctx.extra.socket)) {
            ctx.extra.socket.close(
              CloseCode.Forbidden,
              `At most ${maxSocketsPerAccount} connections per account; close one first.`,
            );
            return false;
          }
          if (viewer) closeWhenExpired(ctx.extra.socket, viewer.expiresAt);
          const context = createGatewayContext(viewer, gatewaySecret, {
            clientAddress: clientAddressOf(ctx.extra.request),
            requestId: requestIdOr(ctx.extra.request.headers[REQUEST_ID_HEADER]),
          });
          ctx.extra.context = Object.assign(context, {
            upstream: new SocketSubscriptions(pool, context),
          });
          // Read for the last time: a socket accepts one connection_init. Kept, the upgrade request (its headers, its
          // stream state) would cost every connection memory for its whole life.
          delete (ctx.extra as { request?: IncomingMessage }).request;
          return true;
        } catch (error) {
          const reason = error instanceof GraphQLError ? error.message : 'Unauthorized';
          ctx.extra.socket.close(CloseCode.Unauthorized, reason.slice(0, 120));
          return false;
        }
      },
      context: (ctx) => ctx.extra.context!,
      execute: async (args) => {
        const operation = getOperationAST(args.document, args.operationName);
        const { name, options, parent } = operationSpan(args);
        const response = await inSpan(
          tracer,
          name,
          options,
          () =>
            apollo.executeOperation(
              {
                query: print(args.document),
                variables: (args.variableValues ?? {}) as Record<string, unknown>,
                ...(args.operationName ? { operationName: args.operationName } : {}),
              },
              { contextValue: args.contextValue as GatewayContext },
            ),
          parent,
        );
        if (response.body.kind !== 'single') {
          return {
            errors: [
              new GraphQLError(
                `Incremental delivery is not supported for ${operation?.operation ?? 'this operation'} over WebSocket.`,
              ),
            ],
          };
        }
        return response.body.singleResult as never;
      },
      subscribe: (args) => {
        const context = args.contextValue as SocketContext;
        const variables = (args.variableValues ?? {}) as Record<string, unknown>;
        if (context.upstream.active >= MAX_SUBSCRIPTIONS_PER_SOCKET) {
          const message = `A connection runs at most ${MAX_SUBSCRIPTIONS_PER_SOCKET} subscriptions at once; complete one first.`;
          return { errors: [codedError(ErrorCode.TooManySubscriptions, message)] };
        }
        // The span covers planning and starting the subgraph subscription, which joins its trace; each event's
        // completion is a trace of its own, linked to this span (see SubscriptionExecutor).
        const { name, options, parent = otelContext.active() } = operationSpan(args);
        const span = tracer.startSpan(name, options, parent);
        try {
          return otelContext.with(trace.setSpan(parent, span), () =>
            executor.subscribe(args.document, variables, args.operationName, context, context.upstream),
          );
        } catch (error) {
          // Thrown here, graphql-ws would close the whole socket (4500), ending the client's other subscriptions too.
          logger.error({ err: error }, 'could not start a subscription');
          markFailed(span, error);
          return { errors: [internalError()] };
        } finally {
          span.end();
        }
      },
      ...webSocketErrorHooks(formatError),
      // The client left: close its subgraph subscriptions too, and only those.
      onClose: (ctx) => ctx.extra.context?.upstream.dispose(),
    },
    wss,
  );

  return {
    wss,
    /** Active WebSocket connections. */
    get connectionCount() {
      return wss.clients.size;
    },
    /** Closes every socket with 1001 (going away) so clients reconnect elsewhere, then stops. */
    async close() {
      clearInterval(heartbeat);
      for (const socket of wss.clients) socket.close(CLOSE_GOING_AWAY, 'Gateway is shutting down');
      await disposable.dispose();
      await pool.dispose();
    },
  };
}
