/** Prometheus metrics: each service's registry, its `/metrics` route, the plugin that counts and logs operations. */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from './logger.js';
import type { RouteHandler } from './http.js';
import { ErrorCode } from './errors.js';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One service's Prometheus metrics, on a registry of its own (several services may share a process). */
export function createMetrics(service: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    requests: new Counter({
      name: 'graphql_requests_total',
      help: 'GraphQL operations served, by operation name and outcome (ok or the first error code).',
      labelNames: ['operation', 'outcome'] as const,
      registers: [registry],
    }),
    requestDuration: new Histogram({
      name: 'graphql_request_duration_seconds',
      help: 'Time to serve a GraphQL operation.',
      labelNames: ['operation'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    subgraphFetchDuration: new Histogram({
      name: 'gateway_subgraph_fetch_duration_seconds',
      help: 'Time the gateway waits for one subgraph fetch.',
      labelNames: ['subgraph', 'outcome'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    subscriptionEventsUncompleted: new Counter({
      name: 'gateway_subscription_events_uncompleted_total',
      help: 'Subscription events the gateway could not complete (a subgraph failed); each ended its subscription, to be resumed with `after`.',
      labelNames: ['subgraph'] as const,
      registers: [registry],
    }),
    openWebSockets: new Gauge({
      name: 'websocket_connections',
      help: 'Open WebSocket connections.',
      registers: [registry],
    }),
    activeSubscriptions: new Gauge({
      name: 'graphql_subscriptions_active',
      help: 'Subscriptions running now.',
      registers: [registry],
    }),
    openSubscriptionStreams: new Gauge({
      name: 'gateway_subscription_streams',
      help: 'Open HTTP responses streaming a subscription (multipart or sse), each holding one subscription.',
      labelNames: ['transport'] as const,
      registers: [registry],
    }),
    published: new Counter({
      name: 'pubsub_published_total',
      help: 'Events published on pub/sub.',
      registers: [registry],
    }),
    delivered: new Counter({
      name: 'pubsub_delivered_total',
      help: 'Events delivered from pub/sub to a listener.',
      registers: [registry],
    }),
  };
}

/** One service's metrics: pub/sub, data sources and WebSocket servers record into the set their service created. */
export type Metrics = ReturnType<typeof createMetrics>;

/** `GET /metrics` in Prometheus text format. */
export function metricsRoute(metrics: Metrics): RouteHandler {
  return async (_req, res) => {
    const body = await metrics.registry.metrics();
    res.writeHead(200, { 'content-type': metrics.registry.contentType });
    res.end(body);
  };
}

/** Distinct operation names a service labels its metrics with; later ones count as `other`. */
export const MAX_OPERATION_LABELS = 200;

/**
 * Keeps a label's values to the first `max` seen (each cut to 64 characters), the rest as `other`: operation names
 * come from clients, and each new value is a new time series held for the life of the process.
 */
function boundedLabel(max: number): (value: string) => string {
  const seen = new Set<string>();
  return (value) => {
    const label = value.slice(0, 64);
    if (seen.has(label)) return label;
    if (seen.size >= max) return 'other';
    seen.add(label);
    return label;
  };
}

/**
 * Counts and times every operation, and logs one line per operation with its request id, name, outcome and
 * duration. Never variables or results: they may hold passwords, tokens or message texts.
 */
export function observabilityPlugin<TContext extends BaseContext & { requestId: string }>(
  metrics: Metrics,
  logger: Logger,
): ApolloServerPlugin<TContext> {
  const operationLabel = boundedLabel(MAX_OPERATION_LABELS);
  return {
    async requestDidStart({ contextValue }) {
      const started = performance.now();
      return {
        async willSendResponse({ operationName, errors, response, contextValue: context }) {
          const operation = operationLabel(operationName ?? 'anonymous');
          const codes = (errors ?? []).map((error) => String(error.extensions?.code ?? ErrorCode.Internal));
          const outcome = codes[0] ?? 'ok';
          const seconds = (performance.now() - started) / 1000;
          metrics.requests.inc({ operation, outcome });
          metrics.requestDuration.observe({ operation }, seconds);
          response.http.headers.set('x-request-id', context.requestId);
          logger.info(
            {
              requestId: contextValue.requestId,
              operation,
              outcome,
              errorCodes: codes.length ? codes : undefined,
              ms: Math.round(seconds * 1000),
            },
            'graphql operation',
          );
        },
      };
    },
  };
}
