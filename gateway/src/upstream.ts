/** The gateway's WebSocket connections to subgraphs, per client socket: deadlines, fresh assertions, a count. */
import { createClient, MessageType, stringifyMessage, type Client, type SubscribePayload } from 'graphql-ws';
import WebSocket from 'ws';
import { GATEWAY_ASSERTION_PARAM, GATEWAY_ASSERTION_REFRESH_MS, MAX_BODY_BYTES, REQUEST_ID_PARAM } from '@igt/common';
import { boundedSubscription, MAX_PENDING_EVENTS, type BoundedSubscription } from './boundedSubscription.js';
import type { GatewayContext } from './context.js';

/** How often the gateway pings each subgraph connection, and how long a subgraph has to answer a ping or handshake. */
export interface UpstreamTiming {
  pingMs: number;
  answerMs: number;
}
/** The defaults: a ping every 10 s, and as long to answer as any subgraph fetch has (SUBGRAPH_TIMEOUT_MS). */
export const UPSTREAM_TIMING: UpstreamTiming = { pingMs: 10_000, answerMs: 10_000 };

/**
 * `ws` with a deadline on the HTTP upgrade too (graphql-ws times only the answer to connection_init, which a subgraph
 * that accepts the connection and never upgrades it never reaches), and frames bounded like HTTP bodies.
 */
function deadlinedWebSocket(handshakeTimeout: number) {
  return class extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { handshakeTimeout, maxPayload: MAX_BODY_BYTES });
    }
  };
}

/**
 * The subgraph connections of one client's WebSocket: one lazy graphql-ws client per subgraph, closed with it, and
 * the count of subscriptions running over them.
 */
export class UpstreamConnections {
  private readonly clients = new Map<string, Client>();
  private running = 0;

  constructor(
    private readonly urls: Record<string, string>,
    private readonly context: GatewayContext,
    private readonly timing: UpstreamTiming = UPSTREAM_TIMING,
  ) {
    this.webSocketImpl = deadlinedWebSocket(timing.answerMs);
  }

  private readonly webSocketImpl: ReturnType<typeof deadlinedWebSocket>;

  /** Subscriptions of this client's socket running now. */
  get active(): number {
    return this.running;
  }

  /**
   * Starts a subscription on `subgraph`, read through a queue of at most MAX_PENDING_EVENTS; it counts as running
   * until closed or ended.
   */
  subscribe(subgraph: string, payload: SubscribePayload): BoundedSubscription {
    const events = boundedSubscription(this.client(subgraph), payload, MAX_PENDING_EVENTS);
    this.running += 1;
    let closed = false;
    return {
      next: () => events.next(),
      close: () => {
        if (!closed) {
          closed = true;
          this.running -= 1;
        }
        events.close();
      },
    };
  }

  /** The graphql-ws client for `subgraph`, connected on first use and closed when its last subscription ends. */
  private client(subgraph: string): Client {
    let client = this.clients.get(subgraph);
    if (client) return client;
    const url = this.urls[subgraph];
    if (!url) throw new Error(`No URL configured for subgraph "${subgraph}"`);
    // A subgraph that stops answering (its host gone without closing the connection) is noticed: the handshake and
    // every keep-alive ping must be answered in time, or the connection is closed and its subscriptions end with
    // SUBGRAPH_UNAVAILABLE instead of going silent.
    let socket: WebSocket | undefined;
    let pongTimer: NodeJS.Timeout | undefined;
    // connectionParams go once, at connect, and the subgraph closes a socket whose newest assertion has expired: a
    // fresh one follows in a ping's payload as often as the gateway signs one.
    let refreshTimer: NodeJS.Timeout | undefined;
    const sendFreshAssertion = () =>
      this.context
        .assertion()
        .then((assertion) => {
          if (socket?.readyState !== WebSocket.OPEN) return;
          socket.send(stringifyMessage({ type: MessageType.Ping, payload: { [GATEWAY_ASSERTION_PARAM]: assertion } }));
        })
        // Signing does not fail; if it ever did, the subgraph would close the socket at expiry, and its subscriptions end
        // as any lost subgraph connection ends them (resumably).
        .catch(() => {});
    client = createClient({
      url: url.replace(/^http/, 'ws'),
      webSocketImpl: this.webSocketImpl,
      lazy: true,
      lazyCloseTimeout: 0,
      retryAttempts: 0,
      keepAlive: this.timing.pingMs,
      connectionAckWaitTimeout: this.timing.answerMs,
      connectionParams: async () => ({
        [GATEWAY_ASSERTION_PARAM]: await this.context.assertion(),
        [REQUEST_ID_PARAM]: this.context.requestId,
      }),
      on: {
        connected: (connected) => {
          socket = connected as WebSocket;
          refreshTimer = setInterval(sendFreshAssertion, GATEWAY_ASSERTION_REFRESH_MS);
          refreshTimer.unref();
        },
        ping: (received) => {
          if (received) return;
          // Closing politely would wait for an answer that is not coming: drop the connection.
          pongTimer = setTimeout(() => socket?.terminate(), this.timing.answerMs);
          pongTimer.unref();
        },
        pong: (received) => {
          if (received) clearTimeout(pongTimer);
        },
        closed: () => {
          clearTimeout(pongTimer);
          clearInterval(refreshTimer);
        },
      },
    });
    this.clients.set(subgraph, client);
    return client;
  }

  /**
   * Closes every subgraph connection (the client left). Never rejects: a connection that was still being opened may
   * fail as it is disposed, and that must not surface as an unhandled rejection.
   */
  async dispose(): Promise<void> {
    const clients = [...this.clients.values()];
    this.clients.clear();
    await Promise.allSettled(clients.map((client) => client.dispose()));
  }
}
