/** The database connection (PostgreSQL or embedded PGlite through drizzle) and helpers that read its errors. */
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import type { AnyPgColumn, PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { sql, type Logger, type SQL } from 'drizzle-orm';
import pg from 'pg';
import { inSpan } from './tracing.js';

/** A drizzle database over either driver; services only ever see this type. */
export type Db<TSchema extends Record<string, unknown>> = PgDatabase<PgQueryResultHKT, TSchema>;

/** A transaction of a service's drizzle database, as `Db.transaction` hands it to its callback. */
export type DbTransaction<TSchema extends Record<string, unknown>> = Parameters<
  Parameters<Db<TSchema>['transaction']>[0]
>[0];

/**
 * Builds a service's prepared statements (drizzle `.prepare(name)` with `sql.placeholder` values) once per database
 * and hands the same ones back after. For the statements every read runs: drizzle then builds their SQL once rather
 * than on each call (a tenth of a subgraph's CPU on a federated read, by profile), and PostgreSQL parses and plans
 * each once per connection. Names must be unique across services, which may share one connection pool.
 */
export function preparedPerDatabase<TDb extends object, TStatements>(
  prepare: (db: TDb) => TStatements,
): (db: TDb) => TStatements {
  const prepared = new WeakMap<TDb, TStatements>();
  return (db) => {
    let statements = prepared.get(db);
    if (!statements) {
      statements = prepare(db);
      prepared.set(db, statements);
    }
    return statements;
  };
}

/**
 * `column = any($name)`: `column` is one of the list of values given as placeholder `name` when a prepared statement
 * runs (drizzle's `inArray` needs its values while the statement is built).
 */
export const inPlaceholderList = (column: AnyPgColumn, name: string): SQL =>
  sql`${column} = any(${sql.placeholder(name)})`;

/** Where the spans of SQL statements come from. */
const sqlTracer = trace.getTracer('@igt/database');

/** A driver's query method, as node-postgres clients and PGlite (instance and transaction) have one. */
type QueryMethod = (...args: unknown[]) => unknown;

/**
 * Makes each statement `target` runs a client span, child of the span that runs it (a request's, a subscription's);
 * statements outside any (migrations, readiness probes) make none. The span holds the statement as drizzle wrote it,
 * with `$n` placeholders: values never reach it. Callback and streaming calls pass through untraced: node-postgres'
 * `pool.query`, traced itself, runs each statement through a client's `query` with a callback, so it counts once.
 */
function traceStatements<T extends object>(target: T): T {
  const driver = target as unknown as { query: QueryMethod };
  const query = driver.query.bind(target);
  driver.query = (...args) => {
    const [first] = args;
    const text = typeof first === 'string' ? first : (first as { text?: unknown } | undefined)?.text;
    const streamed = typeof (first as { submit?: unknown } | undefined)?.submit === 'function';
    const parent = trace.getSpan(context.active());
    if (typeof text !== 'string' || streamed || typeof args.at(-1) === 'function' || !parent?.isRecording()) {
      return query(...args);
    }
    const operation = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? 'SQL';
    const attributes = { 'db.system.name': 'postgresql', 'db.operation.name': operation, 'db.query.text': text };
    return inSpan(sqlTracer, operation, { kind: SpanKind.CLIENT, attributes }, async () => query(...args));
  };
  return target;
}

/** Where `openSqlClient` finds the database; with nothing set it is embedded and in memory (what tests use). */
export interface SqlClientOptions {
  /** `postgres://…` switches from the embedded database to PostgreSQL. */
  databaseUrl?: string | undefined;
  /** Where the embedded database keeps its files; undefined keeps it in memory (tests). */
  dataDir?: string | undefined;
  /** Called with every SQL statement a service runs (used by tests that count statements per request). */
  onQuery?: ((sql: string) => void) | undefined;
  /** Connections in the PostgreSQL pool. */
  poolSize?: number | undefined;
}

/** One connection to the database (a pool for PostgreSQL, one embedded instance for PGlite), shared by services. */
export interface SqlClient {
  readonly kind: 'pglite' | 'postgres';
  /** A drizzle database typed by one service's tables. */
  db<TSchema extends Record<string, unknown>>(schema: TSchema): Db<TSchema>;
  /** Applies a service's committed migrations; safe when several instances start at once. */
  migrate(options: { migrationsFolder: string; service: string }): Promise<void>;
  /**
   * Runs `work` while no other instance runs migrations or start-up work (a PostgreSQL advisory lock), e.g. loading
   * the demo data into an empty database exactly once when several instances start together.
   */
  exclusive<T>(work: () => Promise<T>): Promise<T>;
  /** Resolves when the database answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

// Serialises migrations and start-up work across instances that start together against one PostgreSQL.
const STARTUP_LOCK_ID = 7_310_442;
/** PostgreSQL's SQLSTATE for a connection to a database that does not exist. */
const INVALID_CATALOG_NAME = '3D000';

/** Opens the database: PostgreSQL when `databaseUrl` is set, otherwise embedded PGlite. */
export async function openSqlClient({
  databaseUrl,
  dataDir,
  onQuery,
  poolSize = 10,
}: SqlClientOptions): Promise<SqlClient> {
  const logger: Logger | undefined = onQuery ? { logQuery: (query) => onQuery(query) } : undefined;
  const migrationsTable = (service: string) => ({
    migrationsSchema: 'drizzle',
    migrationsTable: `${service}_migrations`,
  });

  if (databaseUrl) {
    // Drizzle runs statements on the pool, and a transaction's on the client it checked out.
    const pool = traceStatements(new pg.Pool({ connectionString: databaseUrl, max: poolSize }));
    // A client losing its connection must not crash the process. The pool's own listener covers idle clients only:
    // while one is checked out (a transaction runs on it), the pool takes that listener off, and an 'error' event
    // nobody handles would end the process. The query in flight still fails, and the pool drops the client.
    pool.on('error', () => {});
    pool.on('connect', (client) => traceStatements(client).on('error', () => {}));
    // The lock is held by a dedicated connection of its own for as long as `work` runs.
    const locked = async <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect().catch((error: unknown) => {
        if (sqlState(error) !== INVALID_CATALOG_NAME) throw error;
        const name = new URL(databaseUrl).pathname.slice(1);
        throw new Error(
          `DATABASE_URL names the database "${name}", which does not exist on that server: create it first ` +
            `(\`createdb ${name}\`, or CREATE DATABASE "${name}"); each service then creates its own schema and tables.`,
          { cause: error },
        );
      });
      try {
        await client.query('select pg_advisory_lock($1)', [STARTUP_LOCK_ID]);
        return await work(client);
      } finally {
        await client.query('select pg_advisory_unlock($1)', [STARTUP_LOCK_ID]).catch(() => {});
        await client.end();
      }
    };
    return {
      kind: 'postgres',
      db: (schema) => drizzlePg({ client: pool, schema, ...(logger ? { logger } : {}) }) as never,
      migrate: ({ migrationsFolder, service }) =>
        locked((client) => migratePg(drizzlePg({ client }), { migrationsFolder, ...migrationsTable(service) })),
      exclusive: (work) => locked(() => work()),
      async ping() {
        await pool.query('select 1');
      },
      close: () => pool.end(),
    };
  }

  const client = traceStatements(await PGlite.create(dataDir ? { dataDir } : {}));
  const transaction = client.transaction.bind(client);
  client.transaction = <T>(callback: (tx: Transaction) => Promise<T>) =>
    transaction((tx) => callback(traceStatements(tx)));
  return {
    kind: 'pglite',
    db: (schema) => drizzlePglite({ client, schema, ...(logger ? { logger } : {}) }) as never,
    async migrate({ migrationsFolder, service }) {
      await migratePglite(drizzlePglite({ client }), { migrationsFolder, ...migrationsTable(service) });
    },
    // One process owns an embedded database, and start-up runs one service at a time.
    exclusive: (work) => work(),
    async ping() {
      await client.query('select 1');
    },
    close: () => client.close(),
  };
}

/**
 * An error and what it wraps, outermost first: drizzle's `cause`, and graphql-js's `originalError` (for an error
 * that did not come from a resolver, which Apollo Server leaves wrapped). At most 10 deep.
 */
function* causeChain(error: unknown): Generator<object> {
  let current = error;
  for (let depth = 0; depth < 10 && current && typeof current === 'object'; depth += 1) {
    yield current;
    const { cause, originalError } = current as { cause?: unknown; originalError?: unknown };
    current = cause ?? originalError;
  }
}

/** The SQLSTATE of a database error, looking through drizzle's wrapper. */
export function sqlState(error: unknown): string | undefined {
  for (const current of causeChain(error)) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/** True when `error` is a unique-constraint violation (SQLSTATE 23505). */
export const isUniqueViolation = (error: unknown) => sqlState(error) === '23505';

/**
 * True when PostgreSQL refused text it cannot store: a NUL byte (22021, character_not_in_repertoire), or a character
 * the database's encoding lacks (22P05, untranslatable_character).
 */
export const isUnstorableText = (error: unknown) => {
  const state = sqlState(error);
  return state === '22021' || state === '22P05';
};

/** Network errors of a connection to the database that did not open or broke. */
const CONNECTION_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
]);

/**
 * True when the database is away rather than the request wrong: it cannot be reached, the connection broke (node-pg's
 * "Connection terminated", or a client that lost its connection and "is not queryable"), or PostgreSQL is shutting down, starting or out of connections (SQLSTATE class 08,
 * 57P01–57P03, 53300). Worth a retry in a moment.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const state = sqlState(error);
  if (state && (state.startsWith('08') || ['57P01', '57P02', '57P03', '53300'].includes(state))) return true;
  for (const current of causeChain(error)) {
    const { code, message } = current as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && CONNECTION_ERRORS.has(code)) return true;
    if (
      typeof message === 'string' &&
      /^Connection terminated|timeout exceeded when trying to connect|is not queryable/.test(message)
    )
      return true;
  }
  return false;
}
