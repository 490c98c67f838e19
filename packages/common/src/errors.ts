/** Error codes, coded-error helpers, and the formatter that keeps unexpected errors' details out of responses. */
import { GraphQLError, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { isDatabaseUnavailable, isUnstorableText } from './db.js';

/**
 * Error codes clients can switch on; `extensions.code` of every error this API sends holds one of these (besides the
 * standard ones graphql-js and Apollo Server use for invalid operations, such as GRAPHQL_VALIDATION_FAILED).
 */
export const ErrorCode = {
  Unauthenticated: 'UNAUTHENTICATED',
  Forbidden: 'FORBIDDEN',
  BadUserInput: 'BAD_USER_INPUT',
  NotFound: 'NOT_FOUND',
  /**
   * The request itself is unusable: not JSON, too large, an operation it does not name, a subscription asked for over
   * a transport the gateway does not speak (HTTP 406).
   */
  BadRequest: 'BAD_REQUEST',
  /** The document is not GraphQL (Apollo Server's code, used over WebSocket too). */
  ParseFailed: 'GRAPHQL_PARSE_FAILED',
  /** The document does not fit the schema or the operation limits (Apollo Server's code, used over WebSocket too). */
  ValidationFailed: 'GRAPHQL_VALIDATION_FAILED',
  Conflict: 'CONFLICT',
  MessageTooLong: 'MESSAGE_TOO_LONG',
  RecipientBlocked: 'RECIPIENT_BLOCKED',
  UsernameTaken: 'USERNAME_TAKEN',
  TooManyAttempts: 'TOO_MANY_ATTEMPTS',
  /** A dependency (Redis, a subgraph) is away for now: retry shortly. */
  ServiceUnavailable: 'SERVICE_UNAVAILABLE',
  /** The subgraph behind (part of) the answer is unreachable; a subscription ends with it (resubscribe with `after`). */
  SubgraphUnavailable: 'SUBGRAPH_UNAVAILABLE',
  /** A subscription's events piled up faster than they could be sent (resubscribe with `after`). */
  SubscriptionTooFarBehind: 'SUBSCRIPTION_TOO_FAR_BEHIND',
  /**
   * A connection already runs as many subscriptions as it may, or the client (its account, its address) holds as many
   * subscription connections as it may (an HTTP subscription stream is refused with 429).
   */
  TooManySubscriptions: 'TOO_MANY_SUBSCRIPTIONS',
  Internal: 'INTERNAL_SERVER_ERROR',
} as const;
/** One of the codes above, so `codedError` cannot be handed an ad-hoc string. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Builds a coded GraphQL error; `extra` lands in `extensions` (e.g. the offending argument). */
export function codedError(code: ErrorCode, message: string, extra: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extra, code } });
}

/** The caller must sign in first. */
export const unauthenticated = (message = 'You must be signed in to do this.') =>
  codedError(ErrorCode.Unauthenticated, message);

/** The caller is known but may not do this. */
export const forbidden = (message: string) => codedError(ErrorCode.Forbidden, message);

/** An argument is invalid; `argument` names it so a client can point at the field. */
export const badUserInput = (message: string, argument?: string) =>
  codedError(ErrorCode.BadUserInput, message, argument ? { argument } : {});

/** What a client is told of a failure that is ours; the details belong in the logs. */
export const internalError = (message = 'Something went wrong on our side. Please try again.') =>
  codedError(ErrorCode.Internal, message);

/** The database is away for now: nothing was done, and the same request can be sent again shortly. */
const databaseUnavailable = () =>
  codedError(
    ErrorCode.ServiceUnavailable,
    'This cannot be done right now (our database is unavailable). Nothing was changed; try again in a moment.',
  );

/** The thing named does not exist (or is not the caller's to see). */
export const notFound = (message: string) => codedError(ErrorCode.NotFound, message);

/**
 * Text PostgreSQL cannot store (a NUL byte, an unpaired UTF-16 surrogate, a character outside the database's
 * encoding): the client's mistake, named by `argument` when known.
 */
export const unstorableText = (argument?: string) =>
  badUserInput(
    `${argument ? `\`${argument}\`` : 'The text'} holds a character that cannot be stored, such as a NUL byte or an unpaired UTF-16 surrogate.`,
    argument,
  );

/**
 * Apollo Server `formatError`. Errors raised on purpose (a `GraphQLError`: ours, graphql-js validation and input
 * coercion, or a subgraph's already-formatted error relayed by the gateway) keep their message and code. Anything else
 * (a bug, a database failure) reaches the client as a plain INTERNAL_SERVER_ERROR with no stack, SQL or message of its
 * own, and is handed to `onUnexpected` for the logs. The exception is text the database refused to store: that is the
 * client's BAD_USER_INPUT (subgraphs refuse most of it before any resolver runs, see `storableTextPlugin`).
 */
export function createErrorFormatter(onUnexpected: (error: unknown) => void) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    if (isDeliberate(original)) {
      const { stacktrace: _stacktrace, ...extensions } = formatted.extensions ?? {};
      // Apollo Server marks some refusals of the request itself (an unsupported persisted query version, a hash that
      // does not match) with a 4xx status and no code of their own: they are the client's to fix, not ours.
      const http =
        original instanceof GraphQLError && original.extensions.code === undefined
          ? original.extensions.http
          : undefined;
      const status = (http as { status?: number } | undefined)?.status;
      const code =
        status !== undefined && status >= 400 && status < 500
          ? ErrorCode.BadRequest
          : (extensions.code ?? ErrorCode.Internal);
      return { ...formatted, extensions: { ...extensions, code } };
    }
    const where = {
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      ...(formatted.path ? { path: formatted.path } : {}),
    };
    if (isUnstorableText(original)) {
      const { message, extensions } = unstorableText().toJSON();
      return { message, ...where, extensions };
    }
    if (isDatabaseUnavailable(original)) {
      onUnexpected(original);
      return { message: databaseUnavailable().message, ...where, extensions: { code: ErrorCode.ServiceUnavailable } };
    }
    onUnexpected(original);
    return { message: internalError().message, ...where, extensions: { code: ErrorCode.Internal } };
  };
}

/**
 * Shapes the errors of results sent on a subscription transport (graphql-ws, multipart HTTP, SSE) as `formatError`
 * does over HTTP: errors in events, and the errors that end a subscription (its event source failing mid-stream).
 */
export function subscriptionErrorFormatter(formatError: ReturnType<typeof createErrorFormatter>) {
  // A GraphQLError, a crash (a plain Error), or an error already formatted (relayed from a subgraph or Apollo Server).
  const format = (error: unknown): GraphQLFormattedError =>
    formatError(
      error instanceof GraphQLError
        ? error.toJSON()
        : error instanceof Error
          ? { message: error.message }
          : (error as GraphQLFormattedError),
      error,
    );
  return {
    /** Formats each of `errors`. */
    errors: (errors: readonly unknown[]) => errors.map(format),
    /** `result` with its errors formatted; the same object when it has none. */
    result: (result: ExecutionResult) =>
      result.errors?.length ? { ...result, errors: result.errors.map(format) } : result,
  };
}

/** graphql-ws server hooks that format every error sent over a WebSocket as `formatError` does over HTTP. */
export function webSocketErrorHooks(formatError: ReturnType<typeof createErrorFormatter>) {
  const format = subscriptionErrorFormatter(formatError);
  return {
    onNext: (_ctx: unknown, _id: unknown, _payload: unknown, _args: unknown, result: ExecutionResult) =>
      result.errors?.length ? format.result(result) : undefined,
    onError: (_ctx: unknown, _id: unknown, _payload: unknown, errors: readonly GraphQLError[]) => format.errors(errors),
  };
}

/**
 * Raised on purpose: a GraphQLError that does not wrap a crash, or a plain error object (what the gateway relays
 * from a subgraph, which already formatted it).
 */
function isDeliberate(error: unknown): boolean {
  if (!(error instanceof Error)) return typeof error === 'object' && error !== null && 'message' in error;
  if (!(error instanceof GraphQLError)) return false;
  const cause = error.originalError;
  return cause === undefined || cause === null || cause instanceof GraphQLError || !(cause instanceof Error);
}
