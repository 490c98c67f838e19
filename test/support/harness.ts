// The test stack: starts the subgraphs and the gateway in this process for a test file, with helpers to call them.
import { expect } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createClient as createWsClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { createLogger, DEMO_PASSWORD } from '@igt/common';
import { createGateway, type GatewayOptions } from '@igt/gateway';
import { LOGIN, SIGN_UP } from './documents.js';
import { deleteRedisKeys, scratchDatabase } from './scratch.js';
import { startStack as runStack, type Stack, type StackOptions } from '../../scripts/stack.js';

/** A limit no test reaches: the suite signs up, signs in and sends from 127.0.0.1 far more than a person would. */
const UNREACHED = { points: 1_000_000, durationSeconds: 1 };

/** JWT secret of every test stack; tests sign tokens of their own with it (expired, short-lived). */
export const TEST_JWT_SECRET = 'test-jwt-secret-that-is-long-enough-0123456789';
/** Gateway secret of every test stack; tests start a second gateway with it in front of the stack's subgraphs. */
export const TEST_GATEWAY_SECRET = 'test-gateway-secret-that-is-long-enough-0123456789';

/** The password of everyone `signUp` creates. */
export const SIGN_UP_PASSWORD = 'correct horse battery';

/** A complete production environment for the gateway's config, with secrets of its own and one allowed origin. */
export const PRODUCTION_ENV = {
  NODE_ENV: 'production',
  JWT_SECRET: 'j'.repeat(40),
  GATEWAY_SECRET: 'g'.repeat(40),
  CORS_ORIGINS: 'https://app.example.com',
};

/** What `query` resolves to: the body as sent, so tests assert on `errors[0].extensions.code` as well as data. */
export interface GraphQLResponse<T = any> {
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string; [key: string]: unknown } }[];
}

/** A person `signUp` created: the id to pass as an argument and the token to send as them. */
export interface TestUser {
  id: string;
  username: string;
  token: string;
}

/**
 * A stack started for tests, with helpers to call it. `close()` also disposes its WebSocket clients and removes the
 * scratch database and Redis keys it used.
 */
export interface TestStack extends Stack {
  /** Sends a GraphQL request to the gateway over HTTP. */
  query<T = any>(
    document: string,
    variables?: Record<string, unknown>,
    options?: { token?: string | undefined; headers?: Record<string, string> },
  ): Promise<GraphQLResponse<T>>;
  /** Signs a demo person in (password `demo-password`) and returns their token. */
  login(username: string): Promise<string>;
  /** Signs up a fresh person with a unique username starting with `prefix`. */
  signUp(prefix?: string): Promise<TestUser>;
  /** SQL statements run by all subgraphs so far. */
  sqlStatements(): number;
  /** The prefix of every Redis key and channel this stack uses; undefined without Redis. */
  redisPrefix: string | undefined;
  /**
   * Resolves once Messaging holds exactly `count` new-message streams that are listening, so that a message sent next
   * is delivered live (an open socket alone is not enough: the subscription may not have started yet).
   */
  liveSubscriptions(count: number): Promise<void>;
  /** Closes every graphql-ws client opened so far. */
  closeClients(): Promise<void>;
  /** A graphql-ws client to the gateway, closed with the stack. */
  wsClient(token?: string, options?: Partial<Parameters<typeof createWsClient>[0]>): Client;
  /** Stops everything (once; later calls wait for the first). */
  close(): Promise<void>;
}

/**
 * Starts the three subgraphs and the gateway in this process on free ports: embedded in-memory PGlite by default,
 * a fresh PostgreSQL database when DATABASE_URL is set, Redis (with a unique prefix) when REDIS_URL (or `redisUrl`) is set.
 * With `dataDir`, always the embedded mode as `npm start` runs it: PGlite kept in that folder, in-process pub/sub.
 */
export async function startStack(
  options: {
    redis?: boolean;
    redisUrl?: string;
    seed?: boolean;
    logs?: string[];
    dataDir?: string;
    /** Abuse limits; unset, none but the per-account sign-in lockout (its default) is ever reached. */
    limits?: StackOptions['limits'];
    /** How long a typing indicator lasts unless renewed (Messaging's default when unset). */
    typingTtlMs?: number;
    /** With DATABASE_URL: reach PostgreSQL at this address instead (a fault proxy in front of it). */
    databaseAddress?: string;
  } = {},
): Promise<TestStack> {
  const embedded = options.dataDir !== undefined;
  const database =
    process.env.DATABASE_URL && !embedded ? await scratchDatabase(process.env.DATABASE_URL, 'igt_test') : undefined;
  const redisUrl =
    options.redis === false || embedded ? undefined : (options.redisUrl ?? (process.env.REDIS_URL || undefined));
  let statements = 0;
  const redisPrefix = `igt-test-${randomBytes(4).toString('hex')}:`;
  const databaseUrl =
    database && options.databaseAddress
      ? Object.assign(new URL(database.url), { host: options.databaseAddress }).toString()
      : database?.url;
  const stack = await runStack({
    databaseUrl,
    ...(embedded ? { dataDir: options.dataDir } : {}),
    redisUrl,
    redisPrefix,
    ports: { gateway: 0, instagram: 0, threads: 0, messaging: 0 },
    host: '127.0.0.1',
    jwtSecret: TEST_JWT_SECRET,
    gatewaySecret: TEST_GATEWAY_SECRET,
    jwtTtlSeconds: 3600,
    introspection: true,
    keepAliveMs: 1_000,
    gateway: { internalPort: 0 },
    // Background work would add statements to the per-request counts tests assert on.
    catchUpIntervalMs: 0,
    logLevel: options.logs ? 'info' : (process.env.TEST_LOG_LEVEL ?? 'silent'),
    ...(options.logs ? { logDestination: { write: (line: string) => void options.logs!.push(line) } } : {}),
    onQuery: () => {
      statements += 1;
    },
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    limits: {
      accounts: {
        signInPerAddress: UNREACHED,
        signInPerAccount: UNREACHED,
        signUpPerAddress: UNREACHED,
        ...options.limits?.accounts,
      },
      sending: { perAccount: UNREACHED, perAddress: UNREACHED, ...options.limits?.sending },
      typing: { perAccount: UNREACHED, ...options.limits?.typing },
    },
    typingTtlMs: options.typingTtlMs,
  });
  const clients: Client[] = [];
  let closing: Promise<void> | undefined;
  const tokens = new Map<string, string>();

  const query: TestStack['query'] = async (document, variables, { token, headers = {} } = {}) => {
    const response = await fetch(stack.gatewayUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      body: JSON.stringify({ query: document, variables }),
    });
    return (await response.json()) as GraphQLResponse;
  };

  return {
    ...stack,
    query,
    async login(username) {
      const cached = tokens.get(username);
      if (cached) return cached;
      const result = await query<{ login: { token: string } }>(LOGIN, { username, password: DEMO_PASSWORD });
      const token = result.data?.login.token;
      if (!token) throw new Error(`login ${username} failed: ${JSON.stringify(result.errors)}`);
      tokens.set(username, token);
      return token;
    },
    async signUp(prefix = 'user') {
      const username = `${prefix}_${randomBytes(4).toString('hex')}`.slice(0, 30);
      const result = await query<{ signUp: { token: string; user: { id: string } } }>(SIGN_UP, {
        username,
        password: SIGN_UP_PASSWORD,
        fullName: 'Test Person',
      });
      if (!result.data) throw new Error(`signUp failed: ${JSON.stringify(result.errors)}`);
      return { id: result.data.signUp.user.id, username, token: result.data.signUp.token };
    },
    sqlStatements: () => statements,
    redisPrefix: redisUrl ? redisPrefix : undefined,
    liveSubscriptions: (count) =>
      eventually(
        async () => (await stack.subgraphs.messaging.metrics.activeSubscriptions.get()).values[0]?.value === count,
      ),
    wsClient(token, clientOptions = {}) {
      const client = gatewayWsClient(stack.gatewayUrl, token, clientOptions);
      clients.push(client);
      return client;
    },
    async closeClients() {
      await Promise.all(clients.splice(0).map((client) => client.dispose()));
    },
    close: () =>
      (closing ??= (async () => {
        await Promise.all(clients.map((client) => client.dispose()));
        await stack.stop();
        await database?.drop();
        if (redisUrl) await deleteRedisKeys(redisUrl, redisPrefix);
      })()),
  };
}

/** A graphql-ws client to the gateway at `url` (its HTTP URL), signed in with `token`, with no retries of its own. */
function gatewayWsClient(
  url: string,
  token?: string,
  options: Partial<Parameters<typeof createWsClient>[0]> = {},
): Client {
  return createWsClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: token ? { Authorization: `Bearer ${token}` } : {},
    ...options,
  });
}

/** A gateway started beside a test stack's own, in front of its subgraphs unless `options` says otherwise. */
export interface ExtraGateway {
  /** Its `/graphql` URL over HTTP. */
  url: string;
  /** Its internal listener (`/metrics`, `/health/subgraphs`). */
  internalUrl: string;
  /** A graphql-ws client to it, closed with the gateway. */
  wsClient(token?: string, options?: Partial<Parameters<typeof createWsClient>[0]>): Client;
  stop(): Promise<void>;
}

/** Starts another gateway in front of `stack`'s subgraphs, configured otherwise where `options` says; stop it after. */
export async function startExtraGateway(stack: Stack, options: Partial<GatewayOptions> = {}): Promise<ExtraGateway> {
  const gateway = await createGateway({
    subgraphUrls: stack.subgraphUrls,
    jwtSecret: TEST_JWT_SECRET,
    gatewaySecret: TEST_GATEWAY_SECRET,
    logger: createLogger('test', 'silent'),
    internalPort: 0,
    ...options,
  });
  const http = await gateway.listen(0, '127.0.0.1');
  const clients: Client[] = [];
  const url = `${http.url}/graphql`;
  return {
    url,
    internalUrl: gateway.internalUrl!,
    wsClient(token, clientOptions = {}) {
      const client = gatewayWsClient(url, token, clientOptions);
      clients.push(client);
      return client;
    },
    async stop() {
      await Promise.all(clients.map((client) => client.dispose()));
      await gateway.stop();
    },
  };
}

/** The data of a response that must have succeeded; fails the test with the errors otherwise. */
export function ok<T>(result: GraphQLResponse<T>): T {
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data as T;
}

/** Asserts the response failed with `code` (and, when given, names `argument`). */
export function expectError(result: GraphQLResponse, code: string, argument?: string): void {
  expect(result.errors?.[0]?.extensions?.code, JSON.stringify(result.errors)).toBe(code);
  if (argument) expect(result.errors?.[0]?.extensions?.argument).toBe(argument);
}

/** A live subscription under test: what it received so far, and ways to wait for more. */
export interface Subscription<T = any> {
  events: T[];
  errors: { message: string; extensions?: Record<string, unknown> }[];
  completed: boolean;
  /** Resolves once `count` events have arrived (fails after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<T[]>;
  /** Resolves once the subscription ended, with an error or completion. */
  ended(timeoutMs?: number): Promise<void>;
  unsubscribe(): void;
}

/** Starts a subscription on a graphql-ws client and records what arrives. */
export function subscribe<T = any>(
  client: Client,
  query: string,
  variables: Record<string, unknown> = {},
): Subscription<T> {
  const events: T[] = [];
  const errors: Subscription['errors'] = [];
  let completed = false;
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((waiter) => waiter());
  const until = (done: () => boolean, what: string, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      if (done()) return resolve();
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(
          new Error(`timed out waiting for ${what}; got ${events.length} events, errors ${JSON.stringify(errors)}`),
        );
      }, timeoutMs);
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
    });
  const unsubscribe = client.subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        if (result.errors) errors.push(...(result.errors as Subscription['errors']));
        if (result.data) events.push(result.data as T);
        notify();
      },
      error: (error) => {
        errors.push(
          ...(Array.isArray(error)
            ? error
            : [
                {
                  message: error instanceof Error ? error.message : `closed: ${(error as { code?: number }).code}`,
                  extensions: { closeCode: (error as { code?: number }).code },
                },
              ]),
        );
        completed = true;
        notify();
      },
      complete: () => {
        completed = true;
        notify();
      },
    },
  );
  return {
    events,
    errors,
    get completed() {
      return completed;
    },
    async waitFor(count, timeoutMs = CONDITION_TIMEOUT_MS) {
      await until(() => events.length >= count, `${count} events`, timeoutMs);
      return events;
    },
    ended: (timeoutMs = CONDITION_TIMEOUT_MS) => until(() => completed, 'the end of the subscription', timeoutMs),
    unsubscribe,
  };
}

/**
 * How long a test waits for something asynchronous before failing: a bound on a hang, not a speed requirement, so
 * generous enough for a machine whose cores are busy with other work.
 */
const CONDITION_TIMEOUT_MS = 15_000;

/** Polls `condition` until it holds (fails after `timeoutMs`); for effects that happen asynchronously. */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = CONDITION_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition did not hold in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
