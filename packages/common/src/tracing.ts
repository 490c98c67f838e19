/** OpenTelemetry tracing: the SDK, started when the standard OTEL_* variables ask for it, and the spans we make. */
import { createRequire } from 'node:module';
import type { IncomingMessage } from 'node:http';
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type SpanOptions,
  type TextMapGetter,
  type Tracer,
} from '@opentelemetry/api';
import type { NodeSDKConfiguration } from '@opentelemetry/sdk-node';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { RouteHandler } from './http.js';

/** Span processors the SDK would otherwise build from OTEL_TRACES_EXPORTER. */
export type SpanProcessors = NonNullable<NodeSDKConfiguration['spanProcessors']>;

/**
 * Whether the standard variables ask for traces: an exporter in `OTEL_TRACES_EXPORTER` other than `none`, or an OTLP
 * endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`); never when `OTEL_SDK_DISABLED=true`.
 */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  if (exporters.length) return !exporters.includes('none');
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/** What `startTracing` needs: the service's default name, and where its spans go when not where the variables say. */
export interface TracingOptions {
  /** The resource's `service.name` unless `OTEL_SERVICE_NAME` is set. */
  serviceName: string;
  /** Where the `OTEL_*` variables are read (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Used instead of the exporters the variables name (an in-memory exporter in tests); they turn tracing on. */
  spanProcessors?: SpanProcessors;
}

/** A running OpenTelemetry SDK. */
export interface Tracing {
  /** Sends the spans still buffered and stops. */
  shutdown(): Promise<void>;
}

const require = createRequire(import.meta.url);

/**
 * Starts `@opentelemetry/sdk-node` for traces when the variables ask for them (see `tracingRequested`), and returns
 * undefined otherwise: the SDK is not even loaded then, and the spans below cost a no-op call each. It loads
 * synchronously, so an entry point that imports a module calling this first has its tracer provider registered before
 * its other modules are evaluated (an ES module awaiting at its top level would not hold back the modules after it).
 */
export function startTracing({ serviceName, env = process.env, spanProcessors }: TracingOptions): Tracing | undefined {
  if (!spanProcessors && !tracingRequested(env)) return undefined;
  const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME || serviceName,
    // Traces only: metrics are Prometheus' (/metrics) and logs go to stdout; left unset, the SDK would also start
    // exporting metrics and logs over OTLP.
    metricReaders: [],
    logRecordProcessors: [],
    ...(spanProcessors ? { spanProcessors } : {}),
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}

/**
 * The tracer of one service's own spans. Its instrumentation scope, `@igt/<service>`, tells the services apart where
 * they share one process and so one resource (`npm start`, the tests).
 */
export const serviceTracer = (service: string): Tracer => trace.getTracer(`@igt/${service}`);

/** The attribute naming the GraphQL operation of a span (OpenTelemetry's semantic conventions). */
export const OPERATION_NAME_ATTRIBUTE = 'graphql.operation.name';
/** The attribute naming the GraphQL operation's type: query, mutation or subscription. */
export const OPERATION_TYPE_ATTRIBUTE = 'graphql.operation.type';

/**
 * Reads `traceparent` and `tracestate` whatever the case of their keys: graphql-ws connectionParams and extensions
 * come from clients as they wrote them (Apollo Sandbox sends its Headers panel there).
 */
const anyCaseGetter: TextMapGetter<Record<string, unknown>> = {
  keys: (carrier) => Object.keys(carrier),
  get(carrier, key) {
    const value = Object.entries(carrier).find(([name]) => name.toLowerCase() === key)?.[1];
    return typeof value === 'string' ? value : undefined;
  },
};

/**
 * The context naming, as parent, the span the first of `carriers` that has one names (W3C `traceparent`, with its
 * `tracestate`): request headers, or graphql-ws extensions and connectionParams. A new trace when none does.
 */
export function remoteParent(...carriers: (Readonly<Record<string, unknown>> | null | undefined)[]): Context {
  for (const carrier of carriers) {
    if (!carrier) continue;
    const extracted = propagation.extract(ROOT_CONTEXT, carrier, anyCaseGetter);
    if (trace.getSpanContext(extracted)) return extracted;
  }
  return ROOT_CONTEXT;
}

/** The trace context of `parent` (the active one by default) as headers or extensions for a call to another service. */
export function traceCarrier(parent: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(parent, carrier);
  return carrier;
}

/**
 * What a span records of an error that ended its work: its type (name, or SQLSTATE/errno code) and never its message,
 * which may hold values (drizzle puts a failed query's parameters in it).
 */
export function markFailed(span: Span, error: unknown): void {
  const { name, code } = (error ?? {}) as { name?: unknown; code?: unknown };
  span.setStatus({ code: SpanStatusCode.ERROR });
  span.setAttribute('error.type', String(code ?? name ?? 'Error'));
}

/** Runs `work` in a new active span, child of `parent` (the active context by default), ended when `work` settles. */
export function inSpan<T>(
  tracer: Tracer,
  name: string,
  options: SpanOptions,
  work: (span: Span) => Promise<T>,
  parent: Context = context.active(),
): Promise<T> {
  return tracer.startActiveSpan(name, options, parent, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      markFailed(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/**
 * Serves `handler` inside a server span per request, child of the client's `traceparent` when it sends one, so that
 * the spans of the request (the gateway's plan and fetches, a subgraph's SQL) join the client's trace.
 */
export function tracedRoute(tracer: Tracer, handler: RouteHandler): RouteHandler {
  return (req: IncomingMessage, res) => {
    const method = req.method ?? 'GET';
    const route = new URL(req.url ?? '/', 'http://localhost').pathname;
    const options: SpanOptions = {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': method, 'http.route': route, 'url.path': route },
    };
    return inSpan(
      tracer,
      `${method} ${route}`,
      options,
      async (span) => {
        await handler(req, res);
        span.setAttribute('http.response.status_code', res.statusCode);
        if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      },
      remoteParent(req.headers),
    );
  };
}

/**
 * Names the GraphQL operation on the active span (the request's server span): its type and name, never its document
 * or variables. A batch of operations in one request records each as a `graphql.operation` event on that span.
 */
export function tracingPlugin<TContext extends BaseContext>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, operationName }) {
          const span = trace.getActiveSpan();
          if (!operation || !span?.isRecording()) return;
          const attributes = {
            [OPERATION_TYPE_ATTRIBUTE]: operation.operation,
            ...(operationName ? { [OPERATION_NAME_ATTRIBUTE]: operationName } : {}),
          };
          span.setAttributes(attributes);
          span.addEvent('graphql.operation', attributes);
        },
      };
    },
  };
}
