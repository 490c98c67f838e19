/** The HTTP layer every service shares: Apollo Server on Node's http, routing, CORS, the body limit, listening. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';
import type { GraphQLError } from 'graphql';
import { ErrorCode } from './errors.js';

/** Largest request body accepted, in bytes; larger requests get 413. */
export const MAX_BODY_BYTES = 1_048_576;

/** Serves one path of `router`; a handler that throws or rejects gets a bare 500. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** Reads a request body up to `MAX_BODY_BYTES`; resolves null when it is larger. */
async function readBody(req: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Answers with JSON no cache may keep: readiness, and errors answered outside GraphQL (413, bad JSON, 404, 500). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/**
 * The parameters of a GraphQL request as the client sent them: a POST's JSON body, or a GET's search parameters (all
 * strings, `variables` as JSON text). Unchecked: whoever reads them checks their types.
 */
export type GraphQLRequestParams = Readonly<Record<string, unknown>>;

/**
 * Answers a request itself instead of Apollo Server (a subscription streamed over HTTP, say); resolves true when it
 * did, false to leave the request to Apollo Server.
 */
export type GraphQLRequestTakeover = (
  req: IncomingMessage,
  res: ServerResponse,
  params: GraphQLRequestParams,
) => boolean | Promise<boolean>;

/** What `graphqlHandler` may do before Apollo Server sees a request. */
export interface GraphQLHandlerHooks {
  /** Sees the parsed parameters first (after the body limit and the JSON check) and may answer the request itself. */
  takeover?: GraphQLRequestTakeover;
  /** Sees the query text of what `takeover` left and may refuse it (400): what Apollo Server cannot refuse cleanly. */
  screen?: (query: string) => GraphQLError | null;
}

/**
 * Serves an Apollo Server over Node's http module (Apollo Server 5 ships no integration of its own besides
 * Express). `context` builds the per-request context and may throw a GraphQLError with `extensions.http.status`.
 */
export function graphqlHandler<TContext extends BaseContext>(
  apollo: ApolloServer<TContext>,
  context: (req: IncomingMessage) => Promise<TContext>,
  { screen, takeover }: GraphQLHandlerHooks = {},
): RouteHandler {
  return async (req, res) => {
    const raw = req.method === 'POST' ? await readBody(req) : '';
    if (raw === null) {
      sendJson(res, 413, {
        errors: [
          {
            message: `Request body is larger than ${MAX_BODY_BYTES} bytes.`,
            extensions: { code: ErrorCode.BadRequest },
          },
        ],
      });
      return;
    }
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    let body: unknown = raw;
    if (raw && (headers.get('content-type') ?? '').includes('application/json')) {
      try {
        body = JSON.parse(raw);
      } catch {
        sendJson(res, 400, {
          errors: [{ message: 'The request body is not valid JSON.', extensions: { code: ErrorCode.BadRequest } }],
        });
        return;
      }
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const params: GraphQLRequestParams =
      req.method === 'POST'
        ? typeof body === 'object' && body !== null
          ? (body as GraphQLRequestParams)
          : {}
        : Object.fromEntries(url.searchParams);
    if (takeover && (await takeover(req, res, params))) return;
    const refusal = screen && typeof params.query === 'string' ? screen(params.query) : null;
    if (refusal) {
      sendJson(res, 400, { errors: [refusal.toJSON()] });
      return;
    }
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
      context: () => context(req),
    });
    for (const [name, value] of response.headers) res.setHeader(name, value);
    res.statusCode = response.status ?? 200;
    if (response.body.kind === 'complete') {
      res.end(response.body.string);
      return;
    }
    // An incremental response (@defer): each part as it comes, no faster than the client reads, and no further once
    // the client has gone (leaving the loop ends the response's iterator).
    for await (const chunk of response.body.asyncIterator) {
      if (res.destroyed) return;
      if (!res.write(chunk)) await writable(res);
    }
    res.end();
  };
}

/** Resolves once `res` can take more, is gone, or `halted` aborts: a slow reader holds what is sent to it back. */
export function writable(res: ServerResponse, halted?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      halted?.removeEventListener('abort', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
    halted?.addEventListener('abort', done, { once: true });
    if (halted?.aborted) done();
  });
}

/** A listening server, as `listen` returns it; `port` and `url` are the ones actually bound, so port 0 works. */
export interface HttpService {
  server: Server;
  port: number;
  url: string;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), then closes what is left. */
  close(graceMs?: number): Promise<void>;
}

/** Routes by path; unknown paths get 404. A handler that throws answers 500 without details. */
export function router(routes: Record<string, RouteHandler>, onError: (error: unknown) => void) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const handler = routes[path];
    if (!handler) {
      sendJson(res, 404, { error: `No route for ${path}.` });
      return;
    }
    Promise.resolve(handler(req, res)).catch((error: unknown) => {
      onError(error);
      if (!res.headersSent) sendJson(res, 500, { error: 'Internal server error.' });
      else res.end();
    });
  };
}

/** Creates and listens an HTTP server; port 0 picks a free one. */
export async function listen(handler: ReturnType<typeof router>, port: number, host = '0.0.0.0'): Promise<HttpService> {
  const server = createServer(handler);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actualPort = (server.address() as AddressInfo).port;
  return {
    server,
    port: actualPort,
    url: `http://localhost:${actualPort}`,
    async close(graceMs = 10_000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      timer.unref();
      await closed;
      clearTimeout(timer);
    },
  };
}

/**
 * CORS for browser clients on other origins (web apps, and Apollo Sandbox, whose embedded editor calls the endpoint
 * from Apollo's origin). Tokens travel in the Authorization header, never in cookies, so no credentials are allowed.
 * `origins` is `*` or a list of exact origins.
 */
export function withCors(handler: RouteHandler, origins: '*' | string[]): RouteHandler {
  return (req, res) => {
    const origin = req.headers.origin;
    if (origin && (origins === '*' || origins.includes(origin))) {
      res.setHeader('access-control-allow-origin', origins === '*' ? '*' : origin);
      if (origins !== '*') res.setHeader('vary', 'origin');
      res.setHeader('access-control-expose-headers', 'x-request-id');
    }
    if (req.method === 'OPTIONS') {
      res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
      res.setHeader(
        'access-control-allow-headers',
        req.headers['access-control-request-headers'] ?? 'content-type, authorization',
      );
      res.setHeader('access-control-max-age', '600');
      res.statusCode = 204;
      res.end();
      return;
    }
    return handler(req, res);
  };
}
