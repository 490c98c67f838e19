/** The gateway's graphql-ws endpoint: subscriptions through the SubscriptionGate, queries and mutations as over HTTP. */
import type { IncomingMessage, Server } from 'node:http';
import type { ApolloServer } from '@apollo/server';
import type { Context } from '@opentelemetry/api';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { getOperationAST, GraphQLError, print, type ExecutionArgs } from 'graphql';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  CLOSE_GOING_AWAY,
  inSpan,
  MAX_BODY_BYTES,
  remoteParent,
  serviceTracer,
  webSocketErrorHooks,
  type createErrorFormatter,
  type Metrics,
} from '@igt/common';
import type { GatewayContext } from './context.js';
import {
  authorizationParam,
  operationSpan,
  whenExpired,
  type Admission,
  type SubscriptionGate,
} from './subscriptionGate.js';
import type { ClientSubscriptions } from './upstream.js';

/**
 * What `serveWebSocket` needs; `createGateway` hands over what it built for HTTP, so both transports
 * validate, authenticate and format errors alike.
 */
export interface WebSocketOptions {
  server: Server;
  apollo: ApolloServer<GatewayContext>;
  /** Authentication, checks and limits shared with the HTTP subscription transports. */
  gate: SubscriptionGate;
  metrics: Metrics;
  /** The HTTP endpoint's error formatter, applied to everything sent over WebSocket too. */
  formatError: ReturnType<typeof createErrorFormatter>;
  /** How often idle sockets are pinged; a socket that misses a pong is closed. */
  keepAliveMs?: number;
}

/** The context of one WebSocket connection: the viewer, and its subscriptions on subgraphs. */
interface SocketContext extends GatewayContext {
  upstream: ClientSubscriptions;
}

type ConnectionExtra = {
  context?: SocketContext;
};

/**
 * Counts `socket` against the limit `admit` asks until it closes; false when refused, or when the socket is already closing
 * (graphql-ws still handles a message that arrived before the close, and a close that has happened would never give
 * the place back).
 */
function holdWhileOpen(socket: WebSocket, admit: () => Admission): string | true {
  if (socket.readyState !== socket.OPEN) return 'The connection is closing.';
  const admission = admit();
  if (!admission.admitted) return admission.reason;
  socket.once('close', admission.release);
  return true;
}

/**
 * Serves GraphQL over WebSocket (graphql-ws) on the gateway's `/graphql`: subscriptions through the
 * SubscriptionGate, queries and mutations through Apollo Server like HTTP ones.
 */
export function serveWebSocket(options: WebSocketOptions) {
  const { server, apollo, gate, metrics, formatError, keepAliveMs = 12_000 } = options;
  // Frames are bounded like HTTP bodies: `ws` would otherwise buffer (and graphql-ws parse) a frame of any size.
  const wss = new WebSocketServer({ server, path: '/graphql', maxPayload: MAX_BODY_BYTES });
  const alive = new WeakMap<WebSocket, boolean>();
  const tracer = serviceTracer('gateway');
  /**
   * The trace each operation joins, by the arguments it runs with: the `traceparent` in its subscribe message's
   * `extensions`, else the one in the connection's `connectionParams`, else a new trace.
   */
  const traceParents = new WeakMap<ExecutionArgs, Context>();
  wss.on('connection', (socket, request) => {
    metrics.openWebSockets.inc();
    socket.once('close', () => metrics.openWebSockets.dec());
    const admitted = holdWhileOpen(socket, () => gate.admitAddress(request));
    if (admitted !== true) {
      socket.close(CloseCode.Forbidden, admitted);
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
      // Parsed and validated here, as Apollo Server does over HTTP and with the same codes: graphql-ws would send
      // validation errors uncoded, and close the whole socket on a syntax error.
      onSubscribe: (ctx, _id, payload) => {
        const prepared = gate.prepare(payload);
        if (Array.isArray(prepared)) return prepared;
        const { document, operationName, variables } = prepared;
        const args: ExecutionArgs = { schema: gate.schema, document, operationName, variableValues: variables };
        traceParents.set(args, remoteParent(payload.extensions, ctx.connectionParams));
        return args;
      },
      onConnect: async (ctx) => {
        // Refused on arrival (too many from its address), or gone: its connection_init is not worth a token check.
        if (ctx.extra.socket.readyState !== ctx.extra.socket.OPEN) return false;
        try {
          const { socket } = ctx.extra;
          const viewer = await gate.viewer(authorizationParam(ctx.connectionParams));
          const admitted = viewer ? holdWhileOpen(socket, () => gate.admitAccount(viewer)) : true;
          if (admitted !== true) {
            socket.close(CloseCode.Forbidden, admitted);
            return false;
          }
          if (viewer) {
            // The client reconnects with a fresh token (and `after`).
            const cancel = whenExpired(viewer.expiresAt, () =>
              socket.close(CloseCode.Unauthorized, 'The token has expired; sign in again.'),
            );
            socket.once('close', cancel);
          }
          ctx.extra.context = gate.connection(viewer, ctx.extra.request);
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
        const { name, options } = operationSpan(operation);
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
          traceParents.get(args),
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
        const { document, operationName } = args;
        const variables = (args.variableValues ?? {}) as Record<string, unknown>;
        return gate.start(
          { document, operationName, variables },
          args.contextValue as SocketContext,
          traceParents.get(args),
        );
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
    },
  };
}
