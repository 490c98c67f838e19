/**
 * Throwaway storage for tests and benchmarks that run on a real PostgreSQL and Redis: a database of their own, and
 * the removal of the Redis keys they wrote under their prefix.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createClient as createRedisClient } from 'redis';

export interface ScratchDatabase {
  url: string;
  drop(): Promise<void>;
}

async function asAdmin<T>(baseUrl: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: baseUrl });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** Creates an empty database named `<prefix>_<random>` on the server of `baseUrl`; `drop()` removes it. */
export async function scratchDatabase(baseUrl: string, prefix: string): Promise<ScratchDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await asAdmin(baseUrl, (client) => client.query(`create database ${name}`));
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => asAdmin(baseUrl, (client) => client.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
  };
}

/** Removes every Redis key under `prefix` (streams and anything else a run left). */
export async function deleteRedisKeys(url: string, prefix: string): Promise<void> {
  const client = createRedisClient({ url });
  await client.connect();
  try {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 100 })) {
      if (keys.length) await client.del(keys);
    }
  } finally {
    await client.quit();
  }
}
