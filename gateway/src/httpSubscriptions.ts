/** Subscriptions streamed over HTTP: multipart (Apollo's protocol) and SSE (graphql-sse's distinct connections mode). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GraphQLError, type ExecutionResult, type FormattedExecutionResult, type GraphQLFormattedError } from 'graphql';
import { print as sseMessage, type ExecutionResult as SseResult } from 'graphql-sse';
import {
  codedError,
  ErrorCode,
  subscriptionErrorFormatter,
  type createErrorFormatter,
  type GraphQLRequestParams,
  type GraphQLRequestTakeover,
  type Metrics,
  writable,
} from '@igt/common';
import { httpDispatch, notAcceptable, type HttpSubscriptionTransport } from './httpDispatch.js';
import { authorizationParam, whenExpired, type OperationRequest, type SubscriptionGate } from './subscriptionGate.js';
import { ended, endsSubscription } from './subscriptions.js';

/** What `serveHttpSubscriptions` needs: the gate every transport shares, and how errors are shaped over HTTP. */
export interface HttpSubscriptionOptions {
  gate: SubscriptionGate;
  metrics: Metrics;
  /** The HTTP endpoint's error formatter, applied to everything a stream sends. */
  formatError: ReturnType<typeof createErrorFormatter>;
  /** How often an idle stream sends a heartbeat, so proxies and clients see it alive (default 10 s). */
  heartbeatMs?: number;
}

/** How one transport writes a stream: each piece as the text that goes on the wire. */
interface StreamFormat {
  contentType: string;
  /** Sent at once: it flushes the headers (some browsers wait for a first chunk). */
  opening: string;
  event(result: FormattedExecutionResult): string;
  /** The errors that end the subscription (a subgraph away, the token expired, the gateway stopping). */
  ending(errors: readonly GraphQLFormattedError[]): string;
  heartbeat: string;
  closing: string;
}

/** The multipart boundary; Apollo Client reads it from the content type. */
const BOUNDARY = 'graphql';

/** One part of a multipart body, followed by the boundary that delimits it (clients act on a part once it closes). */
const part = (body: unknown) =>
  `\r\ncontent-type: application/json; charset=utf-8\r\n\r\n${JSON.stringify(body)}\r\n--${BOUNDARY}`;

/** One `next` event of graphql-sse's protocol. */
const sseNext = (result: FormattedExecutionResult) => sseMessage({ event: 'next', data: result as SseResult });

/** How each HTTP transport writes its stream. */
const FORMATS: Record<HttpSubscriptionTransport, StreamFormat> = {
  // Apollo's multipart subscription protocol: events in `payload`, an error that ends the subscription as a
  // transport error (`payload: null`), `{}` as heartbeat; the closing `--` after the last boundary ends the body.
  multipart: {
    contentType: `multipart/mixed;boundary="${BOUNDARY}";subscriptionSpec="1.0"`,
    opening: `\r\n--${BOUNDARY}`,
    event: (result) => part({ payload: result }),
    ending: (errors) => part({ payload: null, errors }),
    heartbeat: part({}),
    closing: '--\r\n',
  },
  // graphql-sse's distinct connections mode: `next` events, then `complete`; its errors travel in a `next`, and an
  // SSE comment is its heartbeat.
  sse: {
    contentType: 'text/event-stream; charset=utf-8',
    opening: ':\n\n',
    event: sseNext,
    ending: (errors) => sseNext({ errors }),
    heartbeat: ':\n\n',
    closing: sseMessage({ event: 'complete', data: null }),
  },
};

/** HTTP statuses of the refusals a stream can get before it starts, by error code. */
const REFUSAL_STATUS: Partial<Record<string, number>> = {
  [ErrorCode.Unauthenticated]: 401,
  [ErrorCode.TooManySubscriptions]: 429,
  [ErrorCode.ServiceUnavailable]: 503,
  [ErrorCode.Internal]: 500,
};

/** What `jsonParam` returns for a parameter that is not JSON. */
const invalid = Symbol('invalid');

/** A request parameter that a GET carries as JSON text, parsed; `invalid` when it is not JSON. */
function jsonParam(value: unknown, fromQueryString: boolean): unknown {
  if (!fromQueryString || typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return invalid;
  }
}

/** Whether `value` is a JSON object (variables must be one). */
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The operation a request's parameters ask for, with its `extensions`; undefined when they are malformed, which
 * Apollo Server then refuses with its own codes, as for any request.
 */
function operationRequest(
  params: GraphQLRequestParams,
  fromQueryString: boolean,
): (OperationRequest & { extensions: unknown }) | undefined {
  const { query, operationName } = params;
  const variables = jsonParam(params.variables, fromQueryString);
  const extensions = jsonParam(params.extensions, fromQueryString);
  if (typeof query !== 'string') return undefined;
  if (operationName != null && typeof operationName !== 'string') return undefined;
  if (variables != null && !isObject(variables)) return undefined;
  if (extensions === invalid) return undefined;
  return { query, operationName, variables, extensions };
}

/** The media type of a GraphQL response that clients read errors from whatever its status, when `accept` names it. */
function responseType(accept: string | undefined): string {
  return accept?.includes('application/graphql-response+json')
    ? 'application/graphql-response+json; charset=utf-8'
    : 'application/json; charset=utf-8';
}

/** Why a stream ends when the gateway stops, so clients subscribe again elsewhere. */
const shuttingDown = () => ended(ErrorCode.ServiceUnavailable, 'This gateway is shutting down');

/**
 * Streams subscriptions over HTTP on the gateway's GraphQL endpoint, through the same SubscriptionGate as graphql-ws:
 * the same checks, error codes, viewer and limits (a stream counts as a connection of its address and account, and
 * carries one subscription). `takeover` is the hook `graphqlHandler` calls before Apollo Server; `close` ends every
 * stream with a resumable SERVICE_UNAVAILABLE, so clients subscribe again elsewhere with `after`.
 */
export function serveHttpSubscriptions(options: HttpSubscriptionOptions) {
  const { gate, metrics, formatError, heartbeatMs = 10_000 } = options;
  const format = subscriptionErrorFormatter(formatError);
  /** Each open stream's way to end it with an error. */
  const open = new Set<(error: GraphQLError) => void>();
  const running = new Set<Promise<void>>();
  let closing = false;

  /**
   * Refuses a request before its stream starts. Over SSE the refusal is the stream (its errors in a `next`, then
   * `complete`), as graphql-sse's own handler answers: its client would retry an HTTP error, and a browser's
   * EventSource cannot read one. Otherwise a GraphQL response with the status of the first error's code.
   */
  const refuse = (
    req: IncomingMessage,
    res: ServerResponse,
    transport: HttpSubscriptionTransport | undefined,
    errors: readonly GraphQLError[],
    status = 400,
  ) => {
    const formatted = format.errors(errors);
    if (transport === 'sse') {
      const wire = FORMATS.sse;
      res.writeHead(200, { 'content-type': wire.contentType, 'cache-control': 'no-store' });
      res.end(wire.ending(formatted) + wire.closing);
      return;
    }
    res.writeHead(REFUSAL_STATUS[String(errors[0]?.extensions.code)] ?? status, {
      'content-type': responseType(req.headers.accept),
      'cache-control': 'no-store',
    });
    res.end(JSON.stringify({ errors: formatted }));
  };

  async function stream(
    req: IncomingMessage,
    res: ServerResponse,
    request: OperationRequest & { extensions: unknown },
    transport: HttpSubscriptionTransport,
  ): Promise<void> {
    if (closing) return refuse(req, res, transport, [shuttingDown()]);
    const prepared = gate.prepare(request);
    if (Array.isArray(prepared)) return refuse(req, res, transport, prepared);
    let viewer;
    try {
      // A browser's EventSource cannot set headers: it may send the token in the request's `extensions`.
      viewer = await gate.viewer(req.headers.authorization ?? authorizationParam(request.extensions));
    } catch (error) {
      if (error instanceof GraphQLError) return refuse(req, res, transport, [error]);
      throw error;
    }
    // Gone while it was being authenticated: its close has been and gone, nothing would ever notice it.
    if (res.destroyed) return;
    const admissions = [gate.admitAddress(req), ...(viewer ? [gate.admitAccount(viewer)] : [])];
    const release = () => admissions.forEach((admission) => admission.admitted && admission.release());
    const refused = admissions.find((admission) => !admission.admitted);
    if (refused && !refused.admitted) {
      release();
      return refuse(req, res, transport, [codedError(ErrorCode.TooManySubscriptions, refused.reason)]);
    }
    const context = gate.connection(viewer, req);
    const events = gate.start(prepared, context);
    if (!(Symbol.asyncIterator in events)) {
      release();
      context.upstream.dispose();
      return refuse(req, res, transport, events.errors ?? []);
    }

    const wire = FORMATS[transport];
    let ending: GraphQLError | undefined;
    const halted = new AbortController();
    const stop = (error?: GraphQLError) => {
      ending ??= error;
      halted.abort();
      // A pending `next()` then resolves as done.
      void events.return?.();
    };
    const left = () => stop();
    let cancelExpiry = () => {};
    let heartbeat: NodeJS.Timeout | undefined;
    metrics.openSubscriptionStreams.inc({ transport });
    open.add(stop);
    try {
      res.once('close', left);
      // Stopping began after close() ended the open streams: this one ends with them.
      if (closing) stop(shuttingDown());
      if (viewer) {
        const expired = () =>
          stop(ended(ErrorCode.Unauthenticated, 'The token it was started with has expired (sign in again first)'));
        cancelExpiry = whenExpired(viewer.expiresAt, expired);
      }
      res.writeHead(200, {
        'content-type': wire.contentType,
        'cache-control': 'no-store',
        // Proxies that buffer responses (nginx) would hold events back.
        'x-accel-buffering': 'no',
        'x-request-id': context.requestId,
      });
      res.write(wire.opening);
      heartbeat = setInterval(() => {
        if (!res.destroyed && !res.writableNeedDrain) res.write(wire.heartbeat);
      }, heartbeatMs);
      heartbeat.unref();
      for (;;) {
        const next = await events.next();
        if (next.done || res.destroyed) break;
        const result: ExecutionResult = next.value;
        const text = endsSubscription(result)
          ? wire.ending(format.errors(result.errors ?? []))
          : wire.event(format.result(result) as FormattedExecutionResult);
        // Not read yet: wait rather than buffer, so a slow reader's events wait in the executor's bounded queue.
        if (!res.write(text)) await writable(res, halted.signal);
      }
      if (!res.destroyed) res.end(`${ending ? wire.ending(format.errors([ending])) : ''}${wire.closing}`);
    } finally {
      open.delete(stop);
      clearInterval(heartbeat);
      cancelExpiry();
      res.off('close', left);
      void events.return?.();
      release();
      context.upstream.dispose();
      metrics.openSubscriptionStreams.dec({ transport });
    }
  }

  const takeover: GraphQLRequestTakeover = async (req, res, params) => {
    const request = operationRequest(params, req.method === 'GET');
    // A document without the word holds no subscription: queries and mutations go to Apollo Server unparsed here.
    if (!request?.query.includes('subscription')) return false;
    const transport = httpDispatch(gate.operationOf(request)?.operation, req.headers.accept);
    if (transport === undefined) return false;
    if (transport === 'not-acceptable') {
      refuse(req, res, undefined, [notAcceptable(req.headers.host)], 406);
      return true;
    }
    const streamed = stream(req, res, request, transport);
    running.add(streamed);
    try {
      await streamed;
    } finally {
      running.delete(streamed);
    }
    return true;
  };

  return {
    takeover,
    /** Ends every stream with a resumable SERVICE_UNAVAILABLE, refuses new ones, and waits for them to close. */
    async close() {
      closing = true;
      for (const stop of [...open]) stop(shuttingDown());
      await Promise.allSettled([...running]);
    },
  };
}
