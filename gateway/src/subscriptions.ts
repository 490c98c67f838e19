/** Subscriptions through the gateway: planned like queries, fed by subgraph subscriptions, completed per event. */
import { buildOperationContext, executeQueryPlan, type ServiceMap } from '@apollo/gateway';
import { operationFromDocument, Supergraph, type Schema } from '@apollo/federation-internals';
import { QueryPlanner, type FetchNode, type QueryPlan, type SubscriptionNode } from '@apollo/query-planner';
import { context as otelContext, ROOT_CONTEXT, trace, type SpanOptions } from '@opentelemetry/api';
import {
  getOperationAST,
  GraphQLError,
  Kind,
  parse,
  visit,
  type DocumentNode,
  type ExecutionResult,
  type FormattedExecutionResult,
  type GraphQLSchema,
  type ValueNode,
} from 'graphql';
import {
  codedError,
  ErrorCode,
  inSpan,
  OPERATION_NAME_ATTRIBUTE,
  OPERATION_TYPE_ATTRIBUTE,
  serviceTracer,
  type Logger,
  type Metrics,
} from '@igt/common';
import { MAX_PENDING_EVENTS, type UpstreamEvent } from './boundedSubscription.js';
import type { GatewayContext } from './context.js';
import type { ClientSubscriptions } from './upstream.js';

/** Pauses before trying again to complete an event (a subgraph restarting takes about a second to answer again). */
const COMPLETION_RETRY_DELAYS_MS = [250, 1_000];

interface Planned {
  node: SubscriptionNode;
  operationContext: ReturnType<typeof buildOperationContext>;
  /**
   * The `after` arguments of the subgraph subscription: every live subscription of this API delivers what happens from
   * now on unless `after` asks for the past too (DESIGN.md's resume guarantee).
   */
  after: readonly ValueNode[];
}

/**
 * The results that end their subscription (a subgraph away, a queue overflow, an event that could not be completed),
 * as opposed to an event that carries errors and is followed by more: transports that tell the two apart (multipart
 * HTTP sends the former as a transport error) ask `endsSubscription`.
 */
const endings = new WeakSet<ExecutionResult>();

/** Whether `result` is the last one of its subscription, an error that ended it. */
export function endsSubscription(result: ExecutionResult): boolean {
  return endings.has(result);
}

/** The last result of a subscription: `errors` say why it ended. */
function ending(errors: readonly GraphQLError[]): IteratorResult<ExecutionResult> {
  const value: ExecutionResult = { errors };
  endings.add(value);
  return { done: false, value };
}

/** An event completed for its subscribers: `failed` ends their subscriptions. */
type Completion = { kind: 'complete' | 'failed'; result: ExecutionResult };

/** The span each completion of an event opens: a trace of its own, linked to the span its subscription started in. */
interface EventSpan {
  name: string;
  options: SpanOptions;
}

const tracer = serviceTracer('gateway');

/**
 * Executes subscriptions the way the gateway executes queries. `@apollo/gateway` refuses plans of kind
 * `Subscription`, so this plans the operation with the same federation query planner, runs the plan's `primary`
 * fetch as a graphql-ws subscription to the owning subgraph, and completes each event by running the whole plan
 * through the gateway's executor with the primary fetch answered by the event: fields other subgraphs own (e.g.
 * `sender { username }`) resolve exactly as they would in a query.
 */
export class SubscriptionExecutor {
  private readonly planner: QueryPlanner;
  /** The API schema as the query planner reads it. */
  private readonly plannerSchema: Schema;
  private readonly supergraphSchema: GraphQLSchema;
  /** The API schema clients see, as graphql-js reads it: the WebSocket endpoint validates against it. */
  readonly apiSchema: GraphQLSchema;
  /**
   * Plans by document and operation name: subscribers of one (cached) document share its plan instead of each
   * holding, and computing, their own.
   */
  private readonly plans = new WeakMap<DocumentNode, Map<string, Planned>>();
  /**
   * Completions of an event that reached several subscribers of one shared subgraph subscription (the same object for
   * each), by plan and variables: the first to complete it fetches the other subgraphs' fields, the rest reuse that.
   */
  private readonly completions = new WeakMap<UpstreamEvent, WeakMap<Planned, Map<string, Promise<Completion>>>>();

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
    this.plannerSchema = supergraph.apiSchema();
    this.supergraphSchema = supergraph.schema.toGraphQLJSSchema();
    this.apiSchema = this.plannerSchema.toGraphQLJSSchema();
  }

  private plan(document: DocumentNode, operationName: string | null | undefined): Planned {
    let byName = this.plans.get(document);
    if (!byName) {
      byName = new Map();
      this.plans.set(document, byName);
    }
    let planned = byName.get(operationName ?? '');
    if (!planned) {
      planned = this.buildPlan(document, operationName);
      byName.set(operationName ?? '', planned);
    }
    return planned;
  }

  private buildPlan(document: DocumentNode, operationName: string | null | undefined): Planned {
    const operation = operationFromDocument(this.plannerSchema, document, {
      operationName: operationName ?? undefined,
    });
    const plan = this.planner.buildQueryPlan(operation);
    if (plan.node?.kind !== 'Subscription') throw new Error('Expected a subscription plan');
    const operationContext = buildOperationContext({
      schema: this.apiSchema,
      operationDocument: document,
      operationName: operationName ?? undefined,
    });
    return { node: plan.node, operationContext, after: afterArguments(plan.node.primary.operation) };
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
    upstream: Pick<ClientSubscriptions, 'subscribe'>,
  ): AsyncIterableIterator<ExecutionResult> {
    const planned = this.plan(document, operationName);
    const primary = planned.node.primary;
    // A subscription lives for hours: one trace per event keeps each completion's fetches readable on their own, and
    // the link leads back to the trace the subscription started in (the client's, when it sent a traceparent).
    const started = trace.getSpanContext(otelContext.active());
    const name = getOperationAST(document, operationName)?.name?.value;
    const eventSpan: EventSpan = {
      name: `subscription event${name ? ` ${name}` : ''}`,
      options: {
        root: true,
        links: started ? [{ context: started }] : [],
        attributes: {
          [OPERATION_TYPE_ATTRIBUTE]: 'subscription',
          ...(name ? { [OPERATION_NAME_ATTRIBUTE]: name } : {}),
        },
      },
    };
    const primaryVariables = Object.fromEntries(
      (primary.variableUsages ?? [])
        .filter((name) => variables[name] !== undefined)
        .map((name) => [name, variables[name]]),
    );
    // From now on, it delivers what one already running would: subscribers of the same viewer share it.
    const shareable = planned.after.every((value) => isNull(value, variables));
    const events = upstream.subscribe(
      primary.serviceName,
      { query: primary.operation, variables: primaryVariables },
      shareable,
    );
    let finished = false;
    const done = { done: true, value: undefined } as const;
    this.metrics.activeSubscriptions.inc();
    const finish = () => {
      if (finished) return;
      finished = true;
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
            this.logger.warn(
              { subgraph: primary.serviceName, reason: describe(item.error) },
              'subscription upstream ended with an error',
            );
            return ending(upstreamFailure(item.error, primary.serviceName));
          case 'overflow':
            finish();
            this.logger.warn(
              { subgraph: primary.serviceName, limit: MAX_PENDING_EVENTS },
              'subscription fell too far behind',
            );
            return ending([
              ended(ErrorCode.SubscriptionTooFarBehind, 'Its events piled up faster than they could be sent'),
            ]);
        }
        const { event } = item;
        const errors = (event.errors ?? []).map(toGraphQLError);
        if (errors.some(isFault)) {
          // The owning subgraph could not produce the event whole (its database away, say): the same rule as below.
          finish();
          return ending([this.incomplete(primary.serviceName, errors.find(isFault)!, 1)]);
        }
        if (!event.data) return { done: false, value: { errors } };
        // Only a shared subscription's events reach other subscribers: the rest need no record of their completion.
        const completion = await (shareable
          ? this.completeOnce(planned, event, variables, context, eventSpan)
          : this.completeOrGiveUp(planned.node, event, variables, planned.operationContext, context, eventSpan));
        // An event sent without its own fields would move the client's last id past a message it never saw: end the
        // subscription instead, so that resuming with `after` delivers the event once the fault is over.
        if (completion.kind === 'failed') {
          finish();
          return ending(completion.result.errors ?? []);
        }
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

  /** Completes `event` for `planned`, or joins the completion another subscriber of the same event started. */
  private completeOnce(
    planned: Planned,
    event: UpstreamEvent,
    variables: Record<string, unknown>,
    context: GatewayContext,
    eventSpan: EventSpan,
  ): Promise<Completion> {
    let byPlan = this.completions.get(event);
    if (!byPlan) {
      byPlan = new WeakMap();
      this.completions.set(event, byPlan);
    }
    let byVariables = byPlan.get(planned);
    if (!byVariables) {
      byVariables = new Map();
      byPlan.set(planned, byVariables);
    }
    // One shared subscription serves one viewer; the viewer is in the key all the same, so sharing never crosses people.
    const key = JSON.stringify([context.viewer?.id, variables]);
    let completion = byVariables.get(key);
    if (!completion) {
      completion = this.completeOrGiveUp(planned.node, event, variables, planned.operationContext, context, eventSpan);
      byVariables.set(key, completion);
      // A subscriber that reaches this event later (its queue behind) tries again itself: the fault may be over.
      const forgetIfFailed = (done: Completion) => {
        if (done.kind === 'failed') byVariables.delete(key);
      };
      void completion.then(forgetIfFailed);
    }
    return completion;
  }

  /**
   * Completes one event, trying again after a short pause while another subgraph fails (a restart, a blip). When it
   * still cannot, the result is the error that ends the subscription, never the event without its fields. All of it
   * runs in the event's own span, so the fetches of every attempt are in one trace.
   */
  private completeOrGiveUp(
    node: SubscriptionNode,
    event: UpstreamEvent,
    variables: Record<string, unknown>,
    operationContext: Planned['operationContext'],
    context: GatewayContext,
    { name, options }: EventSpan,
  ): Promise<Completion> {
    return inSpan(
      tracer,
      name,
      options,
      async (span) => {
        const completion = await this.completeWithRetries(node, event, variables, operationContext, context);
        if (completion.kind === 'failed') span.setAttribute('error.type', 'EVENT_NOT_COMPLETED');
        return completion;
      },
      ROOT_CONTEXT,
    );
  }

  /** Completes one event, with the pauses and attempts `completeOrGiveUp` describes. */
  private async completeWithRetries(
    node: SubscriptionNode,
    event: UpstreamEvent,
    variables: Record<string, unknown>,
    operationContext: Planned['operationContext'],
    context: GatewayContext,
  ): Promise<Completion> {
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
      if (pause === undefined)
        return { kind: 'failed', result: { errors: [this.incomplete(subgraph, fault, attempt + 1)] } };
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  /** Counts, logs and explains an event that ends its subscription because `subgraph` (or the gateway) failed it. */
  private incomplete(subgraph: string | undefined, fault: GraphQLError | undefined, attempts: number): GraphQLError {
    this.metrics.subscriptionEventsUncompleted.inc({ subgraph: subgraph ?? 'gateway' });
    this.logger.warn(
      { subgraph, code: fault?.extensions.code, attempts },
      'ending a subscription: an event could not be completed',
    );
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
    const requestContext = {
      request: { variables },
      context,
      logger: this.logger,
      metrics: {},
    } as unknown as Parameters<typeof executeQueryPlan>[2];
    const result = await executeQueryPlan(
      plan,
      serviceMap,
      requestContext,
      operationContext,
      this.supergraphSchema,
      this.plannerSchema,
    );
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

function toGraphQLError(error: {
  message: string;
  path?: readonly (string | number)[];
  extensions?: Record<string, unknown>;
}): GraphQLError {
  return new GraphQLError(error.message, { path: error.path, extensions: error.extensions });
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (error && typeof error === 'object' && 'code' in error)
    return `socket closed with ${String((error as { code: unknown }).code)}`;
  return String(error);
}

/** Why a subscription ended, with the way to pick up where it stopped; `extra` lands in `extensions`. */
export function ended(code: ErrorCode, why: string, extra: Record<string, unknown> = {}): GraphQLError {
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

/**
 * The values of every `after` argument in a subgraph operation, its fragments included (the query planner may keep a
 * client's fragments): one anywhere may ask for the past, so only all of them null lets the subscription be shared.
 */
function afterArguments(operation: string): ValueNode[] {
  const values: ValueNode[] = [];
  visit(parse(operation), {
    Argument(argument) {
      if (argument.name.value === 'after') values.push(argument.value);
    },
  });
  return values;
}

/** Whether `value` is null, or a variable that is null or not given. */
function isNull(value: ValueNode, variables: Record<string, unknown>): boolean {
  return value.kind === Kind.NULL || (value.kind === Kind.VARIABLE && variables[value.name.value] == null);
}
