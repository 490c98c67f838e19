/** Subscriptions streamed over HTTP: multipart (Apollo's protocol) and SSE (graphql-sse's distinct connections mode). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GraphQLError, type ExecutionResult, type FormattedExecutionResult, type GraphQLFormattedError } from 'graphql';
import { print as sseMessage, type ExecutionResult as SseResult } from 'graphql-sse';
import {
  codedError,
  ErrorCode,
  sendJson,
  subscriptionErrorFormatter,
  type createErrorFormatter,
  type GraphQLRequestParams,
  type GraphQLRequestTakeover,
  type Metrics,
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

const BOUNDARY = 'graphql';

/** One part of a multipart body, followed by the boundary that delimits it (clients act on a part once it closes). */
const part = (body: unknown) =>
  `\r\ncontent-type: application/json; charset=utf-8\r\n\r\n${JSON.stringify(body)}\r\n--${BOUNDARY}`;

/** One `next` event of graphql-sse's protocol. */
const sseNext = (result: FormattedExecutionResult) => sseMessage({ event: 'next', data: result as SseResult });

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

/** A request parameter that a GET carries as JSON text, parsed; `invalid` when it is not JSON. */
function jsonParam(value: unknown, fromQueryString: boolean): unknown {
  if (!fromQueryString || typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return invalid;
  }
}
const invalid = Symbol('invalid');

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

/** Resolves once `res` can take more (or is gone, or `halted` settles): a slow reader holds its events upstream. */
function drained(res: ServerResponse, halted: Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
    void halted.then(done);
  });
}

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

  const refuse = (res: ServerResponse, errors: readonly GraphQLError[], status = 400) =>
    sendJson(res, REFUSAL_STATUS[String(errors[0]?.extensions.code)] ?? status, { errors: format.errors(errors) });

  async function stream(
    req: IncomingMessage,
    res: ServerResponse,
    request: OperationRequest & { extensions: unknown },
    transport: HttpSubscriptionTransport,
  ): Promise<void> {
    if (closing) return refuse(res, [ended(ErrorCode.ServiceUnavailable, 'This gateway is shutting down')]);
    const prepared = gate.prepare(request);
    if (Array.isArray(prepared)) return refuse(res, prepared);
    let viewer;
    try {
      // A browser's EventSource cannot set headers: it may send the token in the request's `extensions`.
      viewer = await gate.viewer(req.headers.authorization ?? authorizationParam(request.extensions));
    } catch (error) {
      if (error instanceof GraphQLError) return refuse(res, [error]);
      throw error;
    }
    const admissions = [gate.admitAddress(req), ...(viewer ? [gate.admitAccount(viewer)] : [])];
    const release = () => admissions.forEach((admission) => admission.admitted && admission.release());
    const refused = admissions.find((admission) => !admission.admitted);
    if (refused && !refused.admitted) {
      release();
      return refuse(res, [codedError(ErrorCode.TooManySubscriptions, refused.reason)]);
    }
    const context = gate.connection(viewer, req);
    const events = gate.start(prepared, context);
    if (!(Symbol.asyncIterator in events)) {
      release();
      context.upstream.dispose();
      return refuse(res, events.errors ?? []);
    }

    const wire = FORMATS[transport];
    res.writeHead(200, {
      'content-type': wire.contentType,
      'cache-control': 'no-store',
      // Proxies that buffer responses (nginx) would hold events back.
      'x-accel-buffering': 'no',
      'x-request-id': context.requestId,
    });
    res.write(wire.opening);
    metrics.openSubscriptionStreams.inc({ transport });
    let ending: GraphQLError | undefined;
    let halt!: () => void;
    const halted = new Promise<void>((resolve) => (halt = resolve));
    const stop = (error?: GraphQLError) => {
      ending ??= error;
      halt();
      // A pending `next()` then resolves as done.
      void events.return?.();
    };
    const left = () => stop();
    res.once('close', left);
    const cancelExpiry = viewer
      ? whenExpired(viewer.expiresAt, () =>
          stop(ended(ErrorCode.Unauthenticated, 'The token it was started with has expired (sign in again first)')),
        )
      : () => {};
    const heartbeat = setInterval(() => {
      if (!res.destroyed && !res.writableNeedDrain) res.write(wire.heartbeat);
    }, heartbeatMs);
    heartbeat.unref();
    open.add(stop);
    try {
      for (;;) {
        const next = await events.next();
        if (next.done || res.destroyed) break;
        const result: ExecutionResult = next.value;
        const text = endsSubscription(result)
          ? wire.ending(format.errors(result.errors ?? []))
          : wire.event(format.result(result) as FormattedExecutionResult);
        // Not read yet: wait rather than buffer, so a slow reader's events wait in the executor's bounded queue.
        if (!res.write(text)) await drained(res, halted);
      }
      if (!res.destroyed) res.end(`${ending ? wire.ending(format.errors([ending])) : ''}${wire.closing}`);
    } finally {
      open.delete(stop);
      clearInterval(heartbeat);
      cancelExpiry();
      res.off('close', left);
      release();
      context.upstream.dispose();
      metrics.openSubscriptionStreams.dec({ transport });
    }
  }

  const takeover: GraphQLRequestTakeover = async (req, res, params) => {
    const request = operationRequest(params, req.method === 'GET');
    if (!request) return false;
    const transport = httpDispatch(gate.operationOf(request)?.operation, req.headers.accept);
    if (transport === undefined) return false;
    if (transport === 'not-acceptable') {
      refuse(res, [notAcceptable(req.headers.host)], 406);
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
    /** Open subscription streams. */
    get streamCount() {
      return open.size;
    },
    /** Ends every stream with a resumable SERVICE_UNAVAILABLE, refuses new ones, and waits for them to close. */
    async close() {
      closing = true;
      for (const stop of [...open]) stop(ended(ErrorCode.ServiceUnavailable, 'This gateway is shutting down'));
      await Promise.allSettled([...running]);
    },
  };
}
