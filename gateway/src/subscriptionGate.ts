/** The one path every subscription transport takes: the viewer, the document's checks, the limits, the executor. */
import type { IncomingMessage } from 'node:http';
import { context as otelContext, SpanKind, trace, type Context, type SpanOptions } from '@opentelemetry/api';
import {
  getOperationAST,
  getVariableValues,
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValidationRule,
} from 'graphql';
import {
  codedError,
  ErrorCode,
  internalError,
  markFailed,
  OPERATION_NAME_ATTRIBUTE,
  OPERATION_TYPE_ATTRIBUTE,
  REQUEST_ID_HEADER,
  requestIdOr,
  serviceTracer,
  viewerFromAuthorization,
  type Logger,
  type Viewer,
} from '@igt/common';
import { createGatewayContext, type GatewayContext } from './context.js';
import { costLimitError } from './limits.js';
import { conditionalSubscriptionField, unresolvedOperation } from './operationResolution.js';
import type { SubscriptionExecutor } from './subscriptions.js';
import { ClientSubscriptions, UpstreamPool, type UpstreamTiming } from './upstream.js';

/** Subscriptions one client connection may run at once (each one holds a subscription on a subgraph). */
export const MAX_SUBSCRIPTIONS_PER_CONNECTION = 20;

/** The longest delay setTimeout takes. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What a client sent to run one operation, whatever the transport carried it in. */
export interface OperationRequest {
  query: string;
  operationName?: string | null | undefined;
  variables?: Record<string, unknown> | null | undefined;
}

/** An operation that parsed, validated and resolved, ready to run. */
export interface PreparedOperation {
  document: DocumentNode;
  operation: OperationDefinitionNode;
  operationName: string | null | undefined;
  /** A subscription's coerced as a query's would be; a query's or mutation's as sent (Apollo Server checks those). */
  variables: Record<string, unknown>;
}

/** The context of one client connection: its viewer, and its own subscriptions on the shared upstream pool. */
export type ConnectionContext = GatewayContext & { upstream: ClientSubscriptions };

/** A connection counted against a limit until `release`, or refused with a `reason` saying which limit. */
export type Admission = { admitted: true; release(): void } | { admitted: false; reason: string };

/** Open connections per key (a client address, an account), each counted until it is released. */
class ConnectionCounts {
  private readonly open = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** Counts one more connection under `key`; false (and not counted) when `key` already holds `max`. */
  admit(key: string): (() => void) | false {
    const count = this.open.get(key) ?? 0;
    if (count >= this.max) return false;
    this.open.set(key, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(key) ?? 1) - 1;
      if (left > 0) this.open.set(key, left);
      else this.open.delete(key);
    };
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

/** The span of one operation a transport runs, named by its type and name (`subscription NewMessages`). */
export function operationSpan(operation: OperationDefinitionNode | null | undefined): {
  name: string;
  options: SpanOptions;
} {
  const type = operation?.operation ?? 'operation';
  const operationName = operation?.name?.value;
  const attributes = {
    [OPERATION_TYPE_ATTRIBUTE]: type,
    ...(operationName ? { [OPERATION_NAME_ATTRIBUTE]: operationName } : {}),
  };
  return { name: operationName ? `${type} ${operationName}` : type, options: { kind: SpanKind.SERVER, attributes } };
}

/**
 * Reads `Authorization` from a map of parameters whatever its case: graphql-ws connectionParams (Apollo Sandbox sends
 * its headers there), or the `extensions` of an SSE request from a browser's EventSource, which cannot set headers.
 */
export function authorizationParam(params: unknown): string | undefined {
  if (typeof params !== 'object' || params === null) return undefined;
  const entry = Object.entries(params).find(([key]) => key.toLowerCase() === 'authorization');
  return typeof entry?.[1] === 'string' ? entry[1] : undefined;
}

/**
 * Calls `onExpired` when a token expiring at `expiresAt` (epoch ms) expires, as a new connection with it would be
 * refused: a long-lived connection must not outlive its credentials. Returns a function that cancels it.
 */
export function whenExpired(expiresAt: number, onExpired: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const left = expiresAt - Date.now();
    if (left <= 0) {
      onExpired();
      return;
    }
    timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
    timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}

/** What `SubscriptionGate` needs: what `createGateway` built for HTTP, so every transport checks alike. */
export interface SubscriptionGateOptions {
  /** The API schema clients see (the executor's). */
  schema: GraphQLSchema;
  executor: SubscriptionExecutor;
  /** Extra validation (operation limits), as over HTTP. */
  validationRules: ValidationRule[];
  subgraphUrls: Record<string, string>;
  jwtSecret: string;
  gatewaySecret: string;
  logger: Logger;
  /** Pings to subgraphs and the deadlines of their answers. */
  upstreamTiming: UpstreamTiming;
  /** WebSocket connections to one subgraph that every client's subscriptions share (default 4). */
  upstreamSocketsPerSubgraph?: number | undefined;
  /** The client's address behind a request, as over HTTP (trusted proxies believed). */
  clientAddressOf(request: IncomingMessage): string;
  /**
   * Long-lived connections (WebSockets and HTTP subscription streams together) one client address may hold at once
   * (default 100: many people can share one address).
   */
  maxConnectionsPerAddress?: number | undefined;
  /** Long-lived connections one signed-in account may hold at once, across its devices (default 10). */
  maxConnectionsPerAccount?: number | undefined;
}

/**
 * Everything a subscription goes through before its first event, written once for graphql-ws, multipart HTTP and
 * SSE: the viewer from the token, the document's checks with the same codes as over HTTP, the limits per client
 * address, per account and per connection, and the start on the executor over the gateway's shared upstream pool.
 */
export class SubscriptionGate {
  readonly schema: GraphQLSchema;
  private readonly executor: SubscriptionExecutor;
  private readonly validationRules: ValidationRule[];
  private readonly jwtSecret: string;
  private readonly gatewaySecret: string;
  private readonly logger: Logger;
  private readonly clientAddressOf: (request: IncomingMessage) => string;
  private readonly pool: UpstreamPool;
  private readonly validDocuments = new DocumentCache();
  private readonly tracer = serviceTracer('gateway');
  private readonly maxConnectionsPerAddress: number;
  private readonly maxConnectionsPerAccount: number;
  // Each connection holds gateway memory and subscriptions on subgraphs: without a bound per client, one address or
  // one account could open them until the gateway runs out of memory.
  private readonly perAddress: ConnectionCounts;
  private readonly perAccount: ConnectionCounts;

  constructor(options: SubscriptionGateOptions) {
    const { subgraphUrls, upstreamTiming, upstreamSocketsPerSubgraph } = options;
    this.schema = options.schema;
    this.executor = options.executor;
    this.validationRules = options.validationRules;
    this.jwtSecret = options.jwtSecret;
    this.gatewaySecret = options.gatewaySecret;
    this.logger = options.logger;
    this.clientAddressOf = options.clientAddressOf;
    this.maxConnectionsPerAddress = options.maxConnectionsPerAddress ?? 100;
    this.maxConnectionsPerAccount = options.maxConnectionsPerAccount ?? 10;
    this.perAddress = new ConnectionCounts(this.maxConnectionsPerAddress);
    this.perAccount = new ConnectionCounts(this.maxConnectionsPerAccount);
    // Every client's subscriptions share a few connections per subgraph: a connection per client would cost the
    // gateway and the subgraph a socket per subscriber.
    this.pool = new UpstreamPool(
      subgraphUrls,
      createGatewayContext(null, this.gatewaySecret),
      upstreamTiming,
      upstreamSocketsPerSubgraph,
    );
  }

  /** Counts a new connection from `request`'s client address, or says why it is refused. */
  admitAddress(request: IncomingMessage): Admission {
    const release = this.perAddress.admit(this.clientAddressOf(request));
    if (release) return { admitted: true, release };
    return {
      admitted: false,
      reason: `At most ${this.maxConnectionsPerAddress} connections from one address; close one first.`,
    };
  }

  /** Counts a new connection of `viewer`'s account, or says why it is refused. */
  admitAccount(viewer: Viewer): Admission {
    const release = this.perAccount.admit(viewer.id);
    if (release) return { admitted: true, release };
    return {
      admitted: false,
      reason: `At most ${this.maxConnectionsPerAccount} connections per account; close one first.`,
    };
  }

  /** The viewer `authorization` (a Bearer token) names; null for none; rejects with UNAUTHENTICATED for a bad one. */
  viewer(authorization: string | undefined) {
    return viewerFromAuthorization(authorization, this.jwtSecret);
  }

  /** The context of one client connection opened by `request`, with its own subscriptions on the shared pool. */
  connection(viewer: Viewer | null, request: IncomingMessage): ConnectionContext {
    const context = createGatewayContext(viewer, this.gatewaySecret, {
      clientAddress: this.clientAddressOf(request),
      requestId: requestIdOr(request.headers[REQUEST_ID_HEADER]),
    });
    return Object.assign(context, { upstream: new ClientSubscriptions(this.pool, context) });
  }

  /**
   * The operation `request` names, or undefined when its document does not parse or names no operation: transports
   * that serve only subscriptions ask this first, and leave the rest (with its errors) to Apollo Server.
   */
  operationOf(request: OperationRequest): OperationDefinitionNode | undefined {
    let document = this.validDocuments.get(request.query);
    if (!document) {
      try {
        document = parse(request.query);
      } catch {
        return undefined;
      }
    }
    return getOperationAST(document, request.operationName) ?? undefined;
  }

  /**
   * Parses, validates and resolves `request` as Apollo Server does over HTTP and with the same codes; a
   * subscription's variables are checked here too, since they go to a subgraph as they are and a client's mistake
   * must be BAD_USER_INPUT, not an upstream failure the client would retry forever.
   */
  prepare(request: OperationRequest): PreparedOperation | GraphQLError[] {
    let document = this.validDocuments.get(request.query);
    if (!document) {
      try {
        document = parse(request.query);
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
      const errors = validate(this.schema, document, [...specifiedRules, ...this.validationRules]);
      if (errors.length) return errors.map((error) => codedError(ErrorCode.ValidationFailed, error.message));
      this.validDocuments.remember(request.query, document);
    }
    const { operationName } = request;
    const operation = getOperationAST(document, operationName);
    if (!operation) return [unresolvedOperation(operationName)];
    if (operation.operation !== 'subscription') {
      return { document, operation, operationName, variables: request.variables ?? {} };
    }
    const variables = getVariableValues(this.schema, operation.variableDefinitions ?? [], request.variables ?? {});
    if (variables.errors) return variables.errors.map((error) => codedError(ErrorCode.BadUserInput, error.message));
    // Each event is completed like a query of the subscription's selection: it costs that much again and again.
    const tooCostly = costLimitError(this.schema, document, operation, variables.coerced);
    if (tooCostly) return [tooCostly];
    return { document, operation, operationName, variables: variables.coerced };
  }

  /**
   * Starts a prepared subscription on the connection whose context is `context`: its events, or the errors that
   * refused it (TOO_MANY_SUBSCRIPTIONS past MAX_SUBSCRIPTIONS_PER_CONNECTION on one connection).
   */
  start(
    prepared: Pick<PreparedOperation, 'document' | 'operationName' | 'variables'>,
    context: ConnectionContext,
    parent: Context = otelContext.active(),
  ): AsyncIterableIterator<ExecutionResult> | ExecutionResult {
    if (context.upstream.active >= MAX_SUBSCRIPTIONS_PER_CONNECTION) {
      const message = `A connection runs at most ${MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions at once; complete one first.`;
      return { errors: [codedError(ErrorCode.TooManySubscriptions, message)] };
    }
    const { document, variables, operationName } = prepared;
    // The span covers planning and starting the subgraph subscription, which joins its trace; each event's completion
    // is a trace of its own, linked to this span (see SubscriptionExecutor).
    const { name, options } = operationSpan(getOperationAST(document, operationName));
    const span = this.tracer.startSpan(name, options, parent);
    try {
      return otelContext.with(trace.setSpan(parent, span), () =>
        this.executor.subscribe(document, variables, operationName, context, context.upstream),
      );
    } catch (error) {
      // Thrown, a transport would end the client's whole connection (graphql-ws closes it with 4500).
      this.logger.error({ err: error }, 'could not start a subscription');
      markFailed(span, error);
      return { errors: [internalError()] };
    } finally {
      span.end();
    }
  }

  /** Closes every subgraph connection (the gateway is stopping). */
  dispose(): Promise<void> {
    return this.pool.dispose();
  }
}
