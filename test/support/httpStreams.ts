/** Subscriptions streamed over HTTP in tests: multipart (Apollo's protocol) and SSE, read as a client would. */
import { eventually } from './harness.js';

/** The subscription transports the gateway speaks over HTTP, with the Accept header that asks for each. */
export const ACCEPT = {
  multipart: 'multipart/mixed;subscriptionSpec=1.0',
  sse: 'text/event-stream',
} as const;

/** One error as the gateway sends it. */
export interface StreamError {
  message: string;
  extensions?: { code?: string; [key: string]: unknown };
}

/** A subscription streamed over HTTP: what arrived so far, and ways to wait for more or drop the connection. */
export interface HttpStream<T = any> {
  status: number;
  headers: Headers;
  /** The JSON body of a request refused before streaming (a 4xx answer). */
  refusal: { errors: StreamError[] } | undefined;
  /** The data of each event, in order. */
  events: T[];
  /** Errors in events, and the ones that ended the subscription. */
  errors: StreamError[];
  /** Errors the multipart stream sent as its transport error (`payload: null`), which end it. */
  endingErrors: StreamError[];
  /** Heartbeats received (multipart `{}` parts, SSE comments). */
  heartbeats: number;
  /** True once the server ended the stream properly: the final multipart boundary, or SSE's `complete`. */
  completed: boolean;
  /** True once the response body ended, properly or not. */
  closed: boolean;
  /** Why reading the body failed, when it was not `close()` that ended it (e.g. a part that is not JSON). */
  failure: unknown;
  /** Resolves once `count` events have arrived. */
  waitFor(count: number): Promise<T[]>;
  /** Resolves once the response body has ended; rejects when it broke off rather than ended. */
  ended(): Promise<void>;
  /** Drops the connection, as a client going away does. */
  close(): void;
}

/** What to subscribe to, and how. */
export interface StreamRequest {
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
  token?: string | undefined;
  /** GET sends the operation in the query string, as a browser's EventSource does (POST by default). */
  method?: 'GET' | 'POST';
  /** The `extensions` parameter (over GET, where an EventSource puts the token). */
  extensions?: Record<string, unknown>;
  /** Overrides the Accept header the transport asks with. */
  accept?: string;
  headers?: Record<string, string>;
}

/**
 * Subscribes over `transport` at `url` (the gateway's `/graphql`) and reads the stream as it arrives. Resolves once
 * the response headers are in: a refused request has its `status` and `refusal`, an accepted one fills `events`.
 */
export async function openStream<T = any>(
  url: string,
  transport: keyof typeof ACCEPT,
  request: StreamRequest,
): Promise<HttpStream<T>> {
  const { query, variables, operationName, token, method = 'POST', extensions, accept, headers = {} } = request;
  const abort = new AbortController();
  const target = new URL(url);
  const init: RequestInit = {
    method,
    signal: abort.signal,
    headers: {
      accept: accept ?? ACCEPT[transport],
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
  };
  if (method === 'POST') {
    init.body = JSON.stringify({ query, variables, operationName, extensions });
  } else {
    target.searchParams.set('query', query);
    if (variables) target.searchParams.set('variables', JSON.stringify(variables));
    if (operationName) target.searchParams.set('operationName', operationName);
    if (extensions) target.searchParams.set('extensions', JSON.stringify(extensions));
  }
  const response = await fetch(target, init);
  const stream: HttpStream<T> = {
    status: response.status,
    headers: response.headers,
    refusal: undefined,
    events: [],
    errors: [],
    endingErrors: [],
    heartbeats: 0,
    completed: false,
    closed: false,
    failure: undefined,
    waitFor: async (count) => {
      await eventually(() => stream.events.length >= count || (stream.closed && stream.events.length < count));
      if (stream.events.length < count)
        throw new Error(
          `the stream ended after ${stream.events.length} events: ${JSON.stringify(stream.errors)} ${String(stream.failure ?? '')}`,
        );
      return stream.events;
    },
    ended: async () => {
      await eventually(() => stream.closed);
      if (stream.failure) throw new Error(`the stream broke off: ${String(stream.failure)}`);
    },
    close: () => abort.abort(),
  };
  if (response.status !== 200) {
    stream.refusal = (await response.json()) as HttpStream['refusal'];
    stream.closed = true;
    return stream;
  }
  const result = (payload: { data?: T | null; errors?: StreamError[] }) => {
    if (payload.errors) stream.errors.push(...payload.errors);
    if (payload.data) stream.events.push(payload.data);
  };
  const parse = transport === 'multipart' ? multipartParser(stream, result) : sseParser(stream, result);
  void (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        parse(decoder.decode(chunk, { stream: true }));
      }
    } catch (error) {
      // Dropped by `close()` is the test's own doing; anything else (a part that is not JSON) is kept to be reported.
      if (!abort.signal.aborted) stream.failure = error;
    } finally {
      stream.closed = true;
    }
  })();
  return stream;
}

type ResultSink = (payload: { data?: any; errors?: StreamError[] }) => void;

/** Reads Apollo's multipart subscription protocol: parts between `--graphql` boundaries, `--` after the last one. */
function multipartParser(stream: HttpStream, result: ResultSink) {
  const boundary = '\r\n--graphql';
  let buffer = '';
  let opened = false;
  return (text: string) => {
    buffer += text;
    for (let at = buffer.indexOf(boundary); at !== -1; at = buffer.indexOf(boundary)) {
      const part = buffer.slice(0, at);
      buffer = buffer.slice(at + boundary.length);
      if (opened) {
        const body = JSON.parse(part.slice(part.indexOf('\r\n\r\n'))) as {
          payload?: { data?: unknown; errors?: StreamError[] } | null;
          errors?: StreamError[];
        };
        if (!('payload' in body)) stream.heartbeats += 1;
        else if (body.payload === null) {
          stream.errors.push(...(body.errors ?? []));
          stream.endingErrors.push(...(body.errors ?? []));
        } else result(body.payload!);
      }
      opened = true;
    }
    if (opened && buffer.startsWith('--')) stream.completed = true;
  };
}

/** Reads graphql-sse's events: `next` with a result, `complete` at the end; comments are heartbeats. */
function sseParser(stream: HttpStream, result: ResultSink) {
  let buffer = '';
  return (text: string) => {
    buffer += text;
    for (let at = buffer.indexOf('\n\n'); at !== -1; at = buffer.indexOf('\n\n')) {
      const message = buffer.slice(0, at);
      buffer = buffer.slice(at + 2);
      const fields = Object.fromEntries(
        message
          .split('\n')
          .filter((line) => !line.startsWith(':'))
          .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]),
      );
      if (fields.event === 'next')
        result(JSON.parse(fields.data ?? 'null') as { data?: unknown; errors?: StreamError[] });
      else if (fields.event === 'complete') stream.completed = true;
      else stream.heartbeats += 1;
    }
  };
}
