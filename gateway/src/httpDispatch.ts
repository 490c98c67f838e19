/** Whether an HTTP GraphQL request is a subscription stream, and over which transport: decided here and only here. */
import type { OperationTypeNode } from 'graphql';
import { codedError, ErrorCode } from '@igt/common';

/** The transports the gateway streams a subscription over on `POST /graphql` and `GET /graphql`. */
export type HttpSubscriptionTransport = 'multipart' | 'sse';

/** One entry of an Accept header: its media type and parameters (names lowercased, values unquoted). */
interface MediaRange {
  type: string;
  params: Record<string, string>;
  q: number;
}

/** Splits a header at the commas outside quoted strings, in one pass over it. */
function entries(header: string): string[] {
  const found: string[] = [];
  let start = 0;
  let quoted = false;
  for (let index = 0; index < header.length; index += 1) {
    const char = header[index];
    if (char === '"') quoted = !quoted;
    else if (char === ',' && !quoted) {
      found.push(header.slice(start, index));
      start = index + 1;
    }
  }
  found.push(header.slice(start));
  return found;
}

/** Splits an Accept header into its media ranges; a comma inside a quoted parameter value does not split. */
function mediaRanges(accept: string): MediaRange[] {
  return entries(accept)
    .map((entry) => {
      const [type = '', ...rest] = entry.split(';');
      const params = Object.fromEntries(
        rest.map((param) => {
          const [name = '', ...value] = param.split('=');
          return [
            name.trim().toLowerCase(),
            value
              .join('=')
              .trim()
              .replace(/^"(.*)"$/, '$1'),
          ];
        }),
      );
      const q = params.q === undefined ? 1 : Number(params.q);
      return { type: type.trim().toLowerCase(), params, q: Number.isNaN(q) ? 0 : q };
    })
    .filter((range) => range.q > 0);
}

/** The subscription transport a media range names, if any. */
function transportOf(range: MediaRange): HttpSubscriptionTransport | undefined {
  // Apollo's multipart subscription protocol; `multipart/mixed` alone (or with deferSpec) is another protocol.
  if (range.type === 'multipart/mixed' && range.params.subscriptionspec === '1.0') return 'multipart';
  if (range.type === 'text/event-stream') return 'sse';
  return undefined;
}

/**
 * How the gateway answers an HTTP request for an operation of type `operation` (undefined when the document does not
 * parse or names no operation) with this `Accept` header. A subscription is streamed over the transport the client
 * prefers (highest q, then first listed), or refused with 406 when the header names none the gateway speaks. So is a
 * request whose operation cannot be told when it asks for a stream, so that a streaming client (graphql-sse's asks
 * for nothing else) gets its parse or operation error as JSON rather than Apollo Server's 406. Everything else
 * (undefined) is Apollo Server's: queries and mutations, and requests it refuses with its own codes.
 */
export function httpDispatch(
  operation: OperationTypeNode | undefined,
  accept: string | undefined,
): HttpSubscriptionTransport | 'not-acceptable' | undefined {
  if (operation !== undefined && operation !== 'subscription') return undefined;
  const preferred = mediaRanges(accept ?? '')
    .map((range, index) => ({ range, index, transport: transportOf(range) }))
    .filter((candidate) => candidate.transport !== undefined)
    .sort((a, b) => b.range.q - a.range.q || a.index - b.index)[0];
  if (preferred) return preferred.transport;
  return operation === 'subscription' ? 'not-acceptable' : undefined;
}

/** The 406 answer to a subscription asked for over a transport the gateway does not speak: the ones it does. */
export function notAcceptable(host: string | undefined) {
  return codedError(
    ErrorCode.BadRequest,
    `Subscriptions are served over WebSocket (graphql-ws protocol) at ws://${host ?? '<gateway host>'}/graphql, over ` +
      'HTTP multipart (POST with "Accept: multipart/mixed;subscriptionSpec=1.0", Apollo Client\'s HttpLink) and over ' +
      'Server-Sent Events (POST or GET with "Accept: text/event-stream", the graphql-sse protocol).',
  );
}
