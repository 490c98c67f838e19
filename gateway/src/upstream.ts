/**
 * The gateway's WebSocket connections to subgraphs: a small pool per subgraph shared by every client socket, with
 * deadlines, fresh connection assertions, and each subscription's own signed viewer.
 */
import { context as otelContext } from '@opentelemetry/api';
import { createClient, MessageType, stringifyMessage, type Client, type SubscribePayload } from 'graphql-ws';
import WebSocket from 'ws';
import {
  codedError,
  ErrorCode,
  GATEWAY_ASSERTION_PARAM,
  GATEWAY_ASSERTION_REFRESH_MS,
  MAX_BODY_BYTES,
  REQUEST_ID_PARAM,
  traceCarrier,
} from '@igt/common';
import { boundedSubscription, MAX_PENDING_EVENTS, type BoundedSubscription } from './boundedSubscription.js';
import type { GatewayContext } from './context.js';

/** How often the gateway pings each subgraph connection, and how long a subgraph has to answer a ping or handshake. */
export interface UpstreamTiming {
  pingMs: number;
  answerMs: number;
}
/** The defaults: a ping every 10 s, and as long to answer as any subgraph fetch has (SUBGRAPH_TIMEOUT_MS). */
export const UPSTREAM_TIMING: UpstreamTiming = { pingMs: 10_000, answerMs: 10_000 };

/** WebSocket connections to one subgraph that all client subscriptions of a gateway share, by default. */
export const UPSTREAM_SOCKETS_PER_SUBGRAPH = 4;

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

/** One pooled connection: its lazy graphql-ws client and the subscriptions running over it. */
interface PooledClient {
  client: Client;
  running: number;
}

/**
 * The gateway's connections to subgraphs, shared by every client socket: at most `size` per subgraph, each opened on
 * first use and closed when its last subscription ends. A connection authenticates as the gateway itself; each
 * subscription carries its own viewer's signed assertion and request id in its `extensions`, which the subgraph
 * verifies per subscription, so a shared connection never lends one client's identity to another.
 */
export class UpstreamPool {
  private readonly pools = new Map<string, PooledClient[]>();
  /** Running shareable subscriptions, by `sharingKey`. */
  private readonly shared = new Map<string, Multicast>();
  private readonly webSocketImpl: ReturnType<typeof deadlinedWebSocket>;

  constructor(
    private readonly urls: Record<string, string>,
    /** The gateway's own context (no viewer): it signs the assertions the connections open with. */
    private readonly gateway: Pick<GatewayContext, 'assertion'>,
    private readonly timing: UpstreamTiming = UPSTREAM_TIMING,
    private readonly size = UPSTREAM_SOCKETS_PER_SUBGRAPH,
  ) {
    this.webSocketImpl = deadlinedWebSocket(timing.answerMs);
  }

  /**
   * Starts a subscription on `subgraph` as `context`'s viewer, read through a queue of at most MAX_PENDING_EVENTS, on
   * the pooled connection running the fewest subscriptions. A `shareable` one (it delivers what happens from now on,
   * so one started earlier delivers what it would) joins a running subscription of the same viewer, subgraph and
   * payload: a person's devices cost the subgraph one subscription, and each event arrives once, as one object, for
   * all of them (see SubscriptionExecutor, which completes it once too).
   */
  subscribe(
    subgraph: string,
    payload: SubscribePayload,
    context: GatewayContext,
    shareable = false,
  ): BoundedSubscription {
    const key = shareable && context.viewer ? sharingKey(subgraph, payload, context) : undefined;
    let source = key === undefined ? undefined : this.shared.get(key);
    if (!source) {
      const pooled = this.leastBusy(subgraph);
      pooled.running += 1;
      source = new Multicast(viewerSubscriber(pooled.client, context), () => {
        pooled.running -= 1;
        if (key !== undefined && this.shared.get(key) === source) this.shared.delete(key);
      });
      if (key !== undefined) this.shared.set(key, source);
    }
    return boundedSubscription(source, payload, MAX_PENDING_EVENTS);
  }

  private leastBusy(subgraph: string): PooledClient {
    let pool = this.pools.get(subgraph);
    if (!pool) {
      pool = [];
      this.pools.set(subgraph, pool);
    }
    const idle = pool.reduce<PooledClient | undefined>(
      (best, next) => (best && best.running <= next.running ? best : next),
      undefined,
    );
    if (idle && (idle.running === 0 || pool.length >= this.size)) return idle;
    const added = { client: this.connect(subgraph), running: 0 };
    pool.push(added);
    return added;
  }

  /** A graphql-ws client for `subgraph`, connected on first use and closed when its last subscription ends. */
  private connect(subgraph: string): Client {
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
      this.gateway
        .assertion()
        .then((assertion) => {
          if (socket?.readyState !== WebSocket.OPEN) return;
          socket.send(stringifyMessage({ type: MessageType.Ping, payload: { [GATEWAY_ASSERTION_PARAM]: assertion } }));
        })
        // Signing does not fail; if it ever did, the subgraph would close the socket at expiry, and its subscriptions end
        // as any lost subgraph connection ends them (resumably).
        .catch(() => {});
    return createClient({
      url: url.replace(/^http/, 'ws'),
      webSocketImpl: this.webSocketImpl,
      lazy: true,
      lazyCloseTimeout: 0,
      retryAttempts: 0,
      keepAlive: this.timing.pingMs,
      connectionAckWaitTimeout: this.timing.answerMs,
      connectionParams: async () => ({ [GATEWAY_ASSERTION_PARAM]: await this.gateway.assertion() }),
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
  }

  /**
   * Closes every subgraph connection (the gateway is stopping). Never rejects: a connection that was still being
   * opened may fail as it is disposed, and that must not surface as an unhandled rejection.
   */
  async dispose(): Promise<void> {
    const clients = [...this.pools.values()].flat().map((pooled) => pooled.client);
    this.pools.clear();
    await Promise.allSettled(clients.map((client) => client.dispose()));
  }
}

/** What identifies a shareable subscription: who asks, of which subgraph, for what. */
function sharingKey(subgraph: string, payload: SubscribePayload, context: GatewayContext): string {
  const { viewer } = context;
  return JSON.stringify([
    subgraph,
    viewer?.id,
    viewer?.username,
    payload.operationName ?? null,
    payload.query,
    payload.variables ?? {},
  ]);
}

type Sink = Parameters<Client['subscribe']>[1];

/**
 * One upstream subscription heard by every sink subscribed to it: the first sink starts it, the last to leave stops
 * it, and its end (complete or error) reaches every sink and calls `ended`, so that a later subscriber starts afresh.
 */
class Multicast implements Pick<Client, 'subscribe'> {
  private readonly sinks = new Set<Sink>();
  private stop: (() => void) | undefined;
  private over = false;

  constructor(
    private readonly upstream: Pick<Client, 'subscribe'>,
    private readonly ended: () => void,
  ) {}

  subscribe(payload: SubscribePayload, sink: Sink): () => void {
    this.sinks.add(sink);
    this.stop ??= this.upstream.subscribe(payload, {
      next: (value) => {
        for (const each of [...this.sinks]) each.next(value);
      },
      error: (error) => this.end((each) => each.error(error)),
      complete: () => this.end((each) => each.complete()),
    });
    return () => {
      if (!this.sinks.delete(sink) || this.sinks.size) return;
      this.end(() => {});
      this.stop?.();
    };
  }

  private end(tell: (sink: Sink) => void): void {
    if (this.over) return;
    this.over = true;
    this.ended();
    const sinks = [...this.sinks];
    this.sinks.clear();
    sinks.forEach(tell);
  }
}

/**
 * Subscribes on `client` as `context`'s viewer: the subscription's `extensions` carry the viewer's signed assertion,
 * the request id, and the trace context it was started in (`traceparent`), so the subgraph's spans join that trace
 * (a subscriber that joins a shared subscription already running sends nothing upstream). A subscribe frame the subgraph would refuse for its size would close the whole shared
 * connection (1009), ending other clients' subscriptions: such a subscription fails alone, here.
 */
function viewerSubscriber(client: Client, context: GatewayContext): Pick<Client, 'subscribe'> {
  return {
    subscribe(payload, sink) {
      let stop: (() => void) | undefined;
      let stopped = false;
      const traced = traceCarrier(otelContext.active());
      context.assertion().then(
        (assertion) => {
          if (stopped) return;
          const signed: SubscribePayload = {
            ...payload,
            extensions: {
              ...payload.extensions,
              [GATEWAY_ASSERTION_PARAM]: assertion,
              [REQUEST_ID_PARAM]: context.requestId,
              ...traced,
            },
          };
          // The frame adds its id and type to the payload: a margin of a few bytes.
          if (Buffer.byteLength(JSON.stringify(signed)) > MAX_BODY_BYTES - 256) {
            const message = `A subscription's query and variables must stay under ${MAX_BODY_BYTES} bytes.`;
            sink.error([codedError(ErrorCode.BadRequest, message)]);
            return;
          }
          stop = client.subscribe(signed, sink);
        },
        (error: unknown) => sink.error(error),
      );
      return () => {
        stopped = true;
        stop?.();
      };
    },
  };
}

/**
 * The subscriptions of one client connection (a WebSocket, or an HTTP stream), over the gateway's shared pool: counted
 * for the per-connection limit, and all closed when the connection closes, without touching anyone else's on the same
 * upstream connections.
 */
export class ClientSubscriptions {
  private readonly open = new Set<BoundedSubscription>();

  constructor(
    private readonly pool: UpstreamPool,
    private readonly context: GatewayContext,
  ) {}

  /** Subscriptions of this client connection running now. */
  get active(): number {
    return this.open.size;
  }

  /**
   * Starts a subscription on `subgraph` as this connection's viewer (`shareable`: see UpstreamPool.subscribe); it counts
   * as running until closed or ended.
   */
  subscribe(subgraph: string, payload: SubscribePayload, shareable = false): BoundedSubscription {
    const events = this.pool.subscribe(subgraph, payload, this.context, shareable);
    const subscription: BoundedSubscription = {
      next: () => events.next(),
      close: () => {
        this.open.delete(subscription);
        events.close();
      },
    };
    this.open.add(subscription);
    return subscription;
  }

  /** Closes every subscription of this connection (the client left). */
  dispose(): void {
    for (const subscription of [...this.open]) subscription.close();
  }
}
