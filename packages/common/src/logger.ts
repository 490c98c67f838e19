/** Structured JSON logging (pino), with errors serialized so that no private data and no unbounded text reaches a log line. */
import { pino, type DestinationStream, type LogFn, type Logger } from 'pino';

/** Pino's types, re-exported so services and scripts never depend on pino themselves. */
export type { DestinationStream, Logger };

/** Longest string a logged error keeps (its message, or any field of it); longer ones are cut. */
export const MAX_LOGGED_STRING = 1_024;
/** Longest stack a logged error keeps. */
export const MAX_LOGGED_STACK = 4_096;
// Nesting (causes, fields of fields), array items and fields a logged error keeps at most.
const MAX_DEPTH = 4;
const MAX_ITEMS = 10;
const MAX_FIELDS = 30;

/**
 * Fields never logged from an error, at any depth: query parameters (drizzle's and PGlite's `params` hold every value
 * of the statement: message texts, password hashes, idempotency keys), PostgreSQL's `detail` and `where` (they quote
 * the offending row or parameter), GraphQL sources and AST nodes (literals of the operation), and fields named for
 * secrets.
 */
const OMITTED_FIELDS = new Set([
  'params',
  'parameters',
  'values',
  'variables',
  'detail',
  'where',
  'internalQuery',
  'source',
  'nodes',
  'headers',
  'authorization',
  'password',
  'passwordHash',
  'token',
  'text',
  'idempotencyKey',
  'gatewayAssertion',
]);

/** Cuts `value` to `max` characters, saying how much was cut. */
function cap(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max)}…[${value.length - max} more characters]`;
}

/**
 * An error's message without the values it quotes: drizzle appends every query parameter (`\nparams: …`), and
 * PostgreSQL quotes the value it could not read (`invalid input syntax for type integer: "…"`).
 */
function privateFree(message: string): string {
  return message
    .replace(/\nparams: [\s\S]*$/, '')
    .replace(/(invalid input (?:syntax|value) for [^:\n]+: )"[\s\S]*"/, '$1"[redacted]"');
}

/** An error's message as it may be logged. */
const loggedMessage = (error: Error) => cap(privateFree(error.message), MAX_LOGGED_STRING);

/** A value of an error's field as it may be logged: strings capped, secrets and query parameters left out, depth bounded. */
function loggable(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return cap(value, MAX_LOGGED_STRING);
  if (typeof value === 'bigint') return String(value);
  if (value === null || typeof value !== 'object')
    return typeof value === 'function' || typeof value === 'symbol' ? undefined : value;
  if (value instanceof Error) return serializeError(value, depth);
  if (depth >= MAX_DEPTH) return '[nested too deep]';
  if (ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  if (Array.isArray(value)) return value.slice(0, MAX_ITEMS).map((item) => loggable(item, depth + 1));
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !OMITTED_FIELDS.has(key))
      .slice(0, MAX_FIELDS)
      .map(([key, field]) => [key, loggable(field, depth + 1)]),
  );
}

/**
 * Pino's `err` serializer. Unlike pino's own, which copies every field and appends the messages of causes, it keeps
 * type, message and stack (both without the query parameters drizzle writes into them, and capped), the other fields
 * except those that may hold private data (see OMITTED_FIELDS), and `cause` and AggregateError's `errors` serialized
 * the same way. Strings are capped, so one error cannot flood the logs.
 */
function serializeError(error: unknown, depth = 0): unknown {
  if (!(error instanceof Error)) return loggable(error, depth);
  if (depth >= MAX_DEPTH) return { type: error.name, message: '[nested too deep]' };
  const message = loggedMessage(error);
  // The stack opens with the message; the frames follow from the first "at" line.
  const frames = error.stack?.search(/\n\s+at /) ?? -1;
  const stack = `${error.name}: ${message}${frames >= 0 ? error.stack!.slice(frames) : ''}`;
  const serialized: Record<string, unknown> = {
    type: error.constructor.name,
    message,
    stack: cap(stack, MAX_LOGGED_STACK),
  };
  for (const [key, value] of Object.entries(error).slice(0, MAX_FIELDS)) {
    if (key in serialized || OMITTED_FIELDS.has(key)) continue;
    serialized[key] = loggable(value, depth + 1);
  }
  // `cause` and `errors` are not enumerable when set by the Error and AggregateError constructors.
  if (error.cause !== undefined) serialized.cause = serializeError(error.cause, depth + 1);
  if (error instanceof AggregateError) serialized.errors = loggable(error.errors, depth + 1);
  return serialized;
}

/**
 * Structured JSON logs, one line per event, tagged with the service name. Secrets and message contents are
 * redacted wherever they might appear, and errors go through `serializeError`.
 */
export function createLogger(service: string, level = 'info', destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service },
    serializers: { err: serializeError },
    hooks: {
      // Logged with no message of its own, an error's message becomes the line's `msg`: the one serializeError keeps.
      logMethod(this: Logger, args: Parameters<LogFn>, method: LogFn) {
        const [first, ...rest] = args as unknown[];
        const error = first instanceof Error ? first : (first as { err?: unknown } | null | undefined)?.err;
        if (rest.length === 0 && error instanceof Error)
          return method.call(this, first as object, loggedMessage(error));
        return method.apply(this, args);
      },
    },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers["x-gateway-assertion"]',
        'headers.authorization',
        '*.password',
        '*.passwordHash',
        '*.token',
        '*.text',
        '*.idempotencyKey',
        '*.params',
        '*.gatewayAssertion',
        'variables',
        '*.variables',
      ],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
