/** Subscriptions through the gateway: planned like queries, fed by subgraph subscriptions, completed per event. */
import { buildOperationContext, executeQueryPlan, type ServiceMap } from '@apollo/gateway';
import { operationFromDocument, Supergraph, type Schema } from '@apollo/federation-internals';
import { QueryPlanner, type FetchNode, type QueryPlan, type SubscriptionNode } from '@apollo/query-planner';
import { createClient, MessageType, stringifyMessage, type Client, type SubscribePayload } from 'graphql-ws';
import { GraphQLError, type DocumentNode, type ExecutionResult, type FormattedExecutionResult, type GraphQLSchema } from 'graphql';
import WebSocket from 'ws';
import { codedError, ErrorCode, GATEWAY_ASSERTION_PARAM, GATEWAY_ASSERTION_REFRESH_MS, MAX_BODY_BYTES, type Logger, type Metrics } from '@igt/common';
import type { GatewayContext } from './context.js';

/** Events of one subscription the gateway holds while completing earlier ones, at most. */
export const MAX_PENDING_EVENTS = 1_000;

type UpstreamEvent = FormattedExecutionResult<Record<string, unknown>, unknown>;

/** What an upstream subscription produced next. */
export type UpstreamItem =
  | { kind: 'event'; event: UpstreamEvent }
  | { kind: 'error'; error: unknown }
  | { kind: 'complete' }
  | { kind: 'overflow' };

/**
 * Runs a graphql-ws subscription into a queue of at most `limit` events. graphql-ws has no flow control and each
 * event costs the gateway a query plan run, so a burst (a long replay) would otherwise pile up in memory without
 * bound: past the limit the upstream subscription is dropped and the queue ends with `overflow`.
 */
export function boundedSubscription(client: Pick<Client, 'subscribe'>, payload: SubscribePayload, limit: number) {
  const queue: UpstreamItem[] = [];
  let ended = false;
  let wake: (() => void) | null = null;
  const end = (item: UpstreamItem) => {
    if (ended) return;
    ended = true;
    queue.push(item);
    wake?.();
  };
  const unsubscribe = client.subscribe<Record<string, unknown>, unknown>(payload, {
    next: (event) => {
      if (ended) return;
      if (queue.length >= limit) {
        end({ kind: 'overflow' });
        unsubscribe();
        return;
      }
      queue.push({ kind: 'event', event });
      wake?.();
    },
    error: (error) => end({ kind: 'error', error }),
    complete: () => end({ kind: 'complete' }),
  });
  return {
    /** The next item; after an `error`, `complete` or `overflow` nothing more comes. */
    async next(): Promise<UpstreamItem> {
      while (!queue.length) await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
      return queue.shift()!;
    },
    /** Stops the upstream subscription; a pending `next()` resolves with `complete`. */
    close(): void {
      end({ kind: 'complete' });
      unsubscribe();
    },
  };
}

/** Pauses before trying again to complete an event (a subgraph restarting takes about a second to answer again). */
const COMPLETION_RETRY_DELAYS_MS = [250, 1_000];

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

/** The subgraph connections of one client's WebSocket: one lazy graphql-ws client per subgraph, closed with it. */
export class UpstreamConnections {
  private readonly clients = new Map<string, Client>();
  /** Subscriptions of this client's socket running now. */
  active = 0;

  constructor(
    private readonly urls: Record<string, string>,
    private readonly context: GatewayContext,
    private readonly timing: UpstreamTiming = UPSTREAM_TIMING,
  ) {
    this.webSocketImpl = deadlinedWebSocket(timing.answerMs);
  }

  private readonly webSocketImpl: ReturnType<typeof deadlinedWebSocket>;

  /** The graphql-ws client for `subgraph`, connected on first use and closed when its last subscription ends. */
  client(subgraph: string): Client {
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
      connectionParams: async () => ({ [GATEWAY_ASSERTION_PARAM]: await this.context.assertion() }),
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

interface Planned {
  node: SubscriptionNode;
  operationContext: ReturnType<typeof buildOperationContext>;
}

/**
 * Executes subscriptions the way the gateway executes queries. `@apollo/gateway` refuses plans of kind
 * `Subscription`, so this plans the operation with the same federation query planner, runs the plan's `primary`
 * fetch as a graphql-ws subscription to the owning subgraph, and completes each event by running the whole plan
 * through the gateway's executor with the primary fetch answered by the event: fields other subgraphs own (e.g.
 * `sender { username }`) resolve exactly as they would in a query.
 */
export class SubscriptionExecutor {
  private readonly planner: QueryPlanner;
  private readonly apiSchema: Schema;
  private readonly supergraphSchema: GraphQLSchema;
  private readonly apiGraphQLSchema: GraphQLSchema;

  constructor(
    supergraphSdl: string,
    private readonly serviceMap: ServiceMap,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    /** Pauses before each new attempt to complete an event that another subgraph's fault left incomplete. */
    private readonly completionRetryDelaysMs: readonly number[] = COMPLETION_RETRY_DELAYS_MS,
  ) {
    const supergraph = Supergraph.build(supergraphSdl);
    this.planner = new QueryPlanner(supergraph);
    this.apiSchema = supergraph.apiSchema();
    this.supergraphSchema = supergraph.schema.toGraphQLJSSchema();
    this.apiGraphQLSchema = this.apiSchema.toGraphQLJSSchema();
  }

  private plan(document: DocumentNode, operationName: string | null | undefined): Planned {
    const operation = operationFromDocument(this.apiSchema, document, { operationName: operationName ?? undefined });
    const plan = this.planner.buildQueryPlan(operation);
    if (plan.node?.kind !== 'Subscription') throw new Error('Expected a subscription plan');
    const operationContext = buildOperationContext({
      schema: this.apiGraphQLSchema,
      operationDocument: document,
      operationName: operationName ?? undefined,
    });
    return { node: plan.node, operationContext };
  }

  /**
   * Runs one subscription; ends when the subgraph completes or fails, or when the caller returns the iterator. A
   * hand-written iterator rather than an async generator: a generator's `return()` waits for the pending upstream
   * event, so a client leaving a quiet subscription would keep its upstream subscription open.
   */
  subscribe(
    document: DocumentNode,
    variables: Record<string, unknown>,
    operationName: string | null | undefined,
    context: GatewayContext,
    upstream: UpstreamConnections,
  ): AsyncIterableIterator<ExecutionResult> {
    const { node, operationContext } = this.plan(document, operationName);
    const primary = node.primary;
    const primaryVariables = Object.fromEntries(
      (primary.variableUsages ?? []).filter((name) => variables[name] !== undefined).map((name) => [name, variables[name]]),
    );
    const events = boundedSubscription(
      upstream.client(primary.serviceName),
      { query: primary.operation, variables: primaryVariables },
      MAX_PENDING_EVENTS,
    );
    let finished = false;
    const done = { done: true, value: undefined } as const;
    this.metrics.activeSubscriptions.inc();
    upstream.active += 1;
    const finish = () => {
      if (finished) return;
      finished = true;
      upstream.active -= 1;
      this.metrics.activeSubscriptions.dec();
      events.close();
    };
    const iterator: AsyncIterableIterator<ExecutionResult> = {
      next: async () => {
        if (finished) return done;
        const item = await events.next();
        if (finished) return done;
        switch (item.kind) {
          case 'complete':
            finish();
            return done;
          case 'error':
            finish();
            this.logger.warn({ subgraph: primary.serviceName, reason: describe(item.error) }, 'subscription upstream ended with an error');
            return { done: false, value: { errors: upstreamFailure(item.error, primary.serviceName) } };
          case 'overflow':
            finish();
            this.logger.warn({ subgraph: primary.serviceName, limit: MAX_PENDING_EVENTS }, 'subscription fell too far behind');
            return { done: false, value: { errors: [ended(ErrorCode.SubscriptionTooFarBehind, 'Its events piled up faster than they could be sent')] } };
        }
        const { event } = item;
        const errors = (event.errors ?? []).map(toGraphQLError);
        if (errors.some(isFault)) {
          // The owning subgraph could not produce the event whole (its database away, say): the same rule as below.
          finish();
          return { done: false, value: { errors: [this.incomplete(primary.serviceName, errors.find(isFault)!, 1)] } };
        }
        if (!event.data) return { done: false, value: { errors } };
        const completion = await this.completeOrGiveUp(node, event, variables, operationContext, context);
        // An event sent without its own fields would move the client's last id past a message it never saw: end the
        // subscription instead, so that resuming with `after` delivers the event once the fault is over.
        if (completion.kind === 'failed') finish();
        return { done: false, value: completion.result };
      },
      return: async () => {
        finish();
        return done;
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  /**
   * Completes one event, trying again after a short pause while another subgraph fails (a restart, a blip). When it
   * still cannot, the result is the error that ends the subscription, never the event without its fields.
   */
  private async completeOrGiveUp(
    node: SubscriptionNode,
    event: UpstreamEvent,
    variables: Record<string, unknown>,
    operationContext: Planned['operationContext'],
    context: GatewayContext,
  ): Promise<{ kind: 'complete' | 'failed'; result: ExecutionResult }> {
    for (let attempt = 0; ; attempt += 1) {
      let fault: GraphQLError | undefined;
      try {
        const result = await this.complete(node, event, variables, operationContext, context);
        fault = result.errors?.find(isFault);
        if (!fault) return { kind: 'complete', result };
      } catch (error) {
        // A fault of the gateway's own: the subgraph fetches report their failures as errors, they do not throw.
        this.logger.error({ err: error }, 'could not complete a subscription event');
      }
      const pause = this.completionRetryDelaysMs[attempt];
      // The gateway names the subgraph in its own errors (`subgraph`), @apollo/gateway in those it relays (`serviceName`).
      const named = fault?.extensions.subgraph ?? fault?.extensions.serviceName;
      const subgraph = typeof named === 'string' ? named : undefined;
      if (pause === undefined) return { kind: 'failed', result: { errors: [this.incomplete(subgraph, fault, attempt + 1)] } };
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  /** Counts, logs and explains an event that ends its subscription because `subgraph` (or the gateway) failed it. */
  private incomplete(subgraph: string | undefined, fault: GraphQLError | undefined, attempts: number): GraphQLError {
    this.metrics.subscriptionEventsUncompleted.inc({ subgraph: subgraph ?? 'gateway' });
    this.logger.warn({ subgraph, code: fault?.extensions.code, attempts }, 'ending a subscription: an event could not be completed');
    const why = subgraph ? `The ${subgraph} service is unavailable` : 'Something went wrong on our side';
    const code = subgraph ? ErrorCode.SubgraphUnavailable : ErrorCode.Internal;
    return ended(code, `${why} and a new event could not be completed`, subgraph ? { subgraph } : {});
  }

  /** Completes one event: the plan runs with its primary fetch answered by the event's data. */
  private async complete(
    node: SubscriptionNode,
    event: FormattedExecutionResult<Record<string, unknown>, unknown>,
    variables: Record<string, unknown>,
    operationContext: Planned['operationContext'],
    context: GatewayContext,
  ): Promise<ExecutionResult> {
    const primary: FetchNode = node.primary;
    const owner = this.serviceMap[primary.serviceName];
    const serviceMap: ServiceMap = {
      ...this.serviceMap,
      [primary.serviceName]: {
        process: (options) =>
          options.request.query === primary.operation
            ? Promise.resolve({ data: event.data as Record<string, unknown> })
            : owner!.process(options),
      },
    };
    const plan: QueryPlan = {
      kind: 'QueryPlan',
      node: node.rest ? { kind: 'Sequence', nodes: [primary, node.rest] } : primary,
    };
    // executeQueryPlan reads only these parts of Apollo Server's request context.
    const requestContext = { request: { variables }, context, logger: this.logger, metrics: {} } as unknown as Parameters<
      typeof executeQueryPlan
    >[2];
    const result = await executeQueryPlan(plan, serviceMap, requestContext, operationContext, this.supergraphSchema, this.apiSchema);
    const errors = [...(event.errors ?? []).map(toGraphQLError), ...(result.errors ?? [])];
    return { data: result.data ?? null, ...(errors.length ? { errors } : {}) };
  }
}

/** Error codes of a fault behind the answer (a subgraph or its database away), not of what the client asked. */
const FAULT_CODES = new Set<unknown>([ErrorCode.SubgraphUnavailable, ErrorCode.ServiceUnavailable, ErrorCode.Internal]);

/** Whether an error in a completed event means part of it is missing because something failed. */
function isFault(error: GraphQLError): boolean {
  return FAULT_CODES.has(error.extensions.code);
}

function toGraphQLError(error: { message: string; path?: readonly (string | number)[]; extensions?: Record<string, unknown> }): GraphQLError {
  return new GraphQLError(error.message, { path: error.path, extensions: error.extensions });
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (error && typeof error === 'object' && 'code' in error) return `socket closed with ${String((error as { code: unknown }).code)}`;
  return String(error);
}

/** Why a subscription ended, with the way to pick up where it stopped; `extra` lands in `extensions`. */
function ended(code: ErrorCode, why: string, extra: Record<string, unknown> = {}): GraphQLError {
  return codedError(
    code,
    `${why}, so this subscription has ended. Subscribe again, passing the id of the last message you received as \`after\` to get everything since.`,
    extra,
  );
}

/** Turns a failed upstream subscription into errors a client can act on. */
function upstreamFailure(error: unknown, subgraph: string): GraphQLError[] {
  // graphql-ws rejects with the subgraph's GraphQL errors when it refuses the subscription (e.g. UNAUTHENTICATED).
  if (Array.isArray(error) && error.every((item) => item && typeof item.message === 'string')) {
    return error.map(toGraphQLError);
  }
  return [ended(ErrorCode.SubgraphUnavailable, `The ${subgraph} service is unavailable`, { subgraph })];
}
