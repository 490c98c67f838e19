/**
 * `npm run bench`: measures the supergraph in one process and reports each scenario as a ratio to a baseline measured
 * in the same run (absolute numbers depend on the machine; ratios much less so). On the embedded database by default;
 * with DATABASE_URL on a scratch database on that PostgreSQL server (dropped afterwards), with REDIS_URL on Redis.
 *
 *   baseline   `{ __typename }` through the gateway: HTTP, auth, parsing, no subgraph fetch
 *   scenarios  real operations, each through the gateway and, where it helps, straight to the subgraph
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { DEMO_PASSWORD, GATEWAY_ASSERTION_HEADER, signGatewayAssertion } from '@igt/common';
import { deleteRedisKeys, scratchDatabase } from '../test/support/scratch.js';
import { handTelemetryChoiceToApollo, loadConfig as loadGatewayConfig } from '@igt/gateway/config';
import { startStack } from '../scripts/stack.js';

handTelemetryChoiceToApollo(loadGatewayConfig());
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const GATEWAY_SECRET = 'bench-gateway-secret-0123456789-0123456789';
const JWT_SECRET = 'bench-jwt-secret-0123456789-0123456789-0123';

interface Result {
  name: string;
  perSecond: number;
  p50: number;
  p99: number;
}

/** Sends `REQUESTS` POSTs with `CONCURRENCY` in flight; every response must be a GraphQL success. */
async function load(name: string, url: string, body: unknown, headers: Record<string, string> = {}): Promise<Result> {
  const payload = JSON.stringify(body);
  const send = async () => {
    const started = performance.now();
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: payload,
    });
    const json = (await response.json()) as { errors?: unknown };
    if (json.errors) throw new Error(`${name}: ${JSON.stringify(json.errors)}`);
    return performance.now() - started;
  };
  for (let i = 0; i < 50; i++) await send();
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < REQUESTS) latencies.push(await send());
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return { name, perSecond: REQUESTS / seconds, p50: at(0.5), p99: at(0.99) };
}

const database = process.env.DATABASE_URL ? await scratchDatabase(process.env.DATABASE_URL, 'igt_bench') : undefined;
const redisUrl = process.env.REDIS_URL || undefined;
const redisPrefix = `igt-bench-${process.pid}:`;
const stack = await startStack({
  databaseUrl: database?.url,
  redisUrl,
  redisPrefix,
  ports: { gateway: 0, instagram: 0, threads: 0, messaging: 0 },
  host: '127.0.0.1',
  jwtSecret: JWT_SECRET,
  gatewaySecret: GATEWAY_SECRET,
  jwtTtlSeconds: 3600,
  introspection: true,
  logLevel: 'warn',
  catchUpIntervalMs: 0,
  // The DM scenario sends 200 messages as one person from one address, far past the limits on sending: lift them.
  limits: {
    sending: {
      perAccount: { points: 1_000_000, durationSeconds: 1 },
      perAddress: { points: 1_000_000, durationSeconds: 1 },
    },
  },
});

const gql = async (query: string, variables: Record<string, unknown> = {}, token?: string) => {
  const response = await fetch(stack.gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data: any; errors?: unknown };
};
const login = async (username: string) =>
  (
    await gql('mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { token } }', {
      u: username,
      p: DEMO_PASSWORD,
    })
  ).data.login.token as string;

const alice = await login('alice');
const bob = await login('bob');
// A fuller feed for alice: 60 more threads from people she follows.
for (const username of ['bob', 'carol']) {
  const token = await login(username);
  for (let i = 0; i < 30; i++)
    await gql(
      'mutation ($t: String!) { postThread(text: $t) { id } }',
      { t: `bench thread ${i} by ${username}` },
      token,
    );
}

const FEED = `query Feed { feed(first: 20) { edges { node { text likeCount replyCount viewerHasLiked author { username user { fullName followerCount } } } } } }`;
const FEED_LOCAL = `query Feed { feed(first: 20) { edges { node { text likeCount replyCount viewerHasLiked author { username } } } } }`;
const PROFILE = `query Profile { profile(username: "bob") { username bio user { fullName followerCount status { text } } messageAction { enabled conversation { id unreadCount } } } }`;
const auth = { authorization: `Bearer ${alice}` };
const assertion = {
  [GATEWAY_ASSERTION_HEADER]: await signGatewayAssertion({ id: '1', username: 'alice' }, GATEWAY_SECRET),
};

const rss = () => Math.round(process.memoryUsage().rss / 1024 / 1024);
const rssBefore = rss();
const baseline = await load(
  'baseline: { __typename } via gateway',
  stack.gatewayUrl,
  { query: '{ __typename }' },
  auth,
);
const results = [
  await load('feed(20) + Instagram user, via gateway', stack.gatewayUrl, { query: FEED }, auth),
  await load('feed(20), Threads fields only, via gateway', stack.gatewayUrl, { query: FEED_LOCAL }, auth),
  await load(
    'feed(20), Threads fields only, subgraph direct',
    stack.subgraphUrls.threads,
    { query: FEED_LOCAL },
    assertion,
  ),
  await load('profile across 3 subgraphs, via gateway', stack.gatewayUrl, { query: PROFILE }, auth),
];

// Live DM latency: send through the gateway, time until the subscriber has it (fields from two subgraphs).
const ws = createClient({
  url: stack.gatewayUrl.replace(/^http/, 'ws'),
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${bob}` },
});
const arrivals = new Map<string, number>();
let notify: (() => void) | undefined;
ws.subscribe(
  { query: 'subscription { directMessageReceived { id text sender { username threadsProfile { username } } } }' },
  {
    next: (result) => {
      arrivals.set((result.data as any).directMessageReceived.text, performance.now());
      notify?.();
    },
    error: (error) => console.error(error),
    complete: () => {},
  },
);
await new Promise((resolve) => setTimeout(resolve, 300));
const dmLatencies: number[] = [];
for (let i = 0; i < 200; i++) {
  const text = `bench dm ${i}`;
  const sent = performance.now();
  const arrived = new Promise<void>((resolve) => (notify = () => arrivals.has(text) && resolve()));
  await gql(
    'mutation ($t: String!) { sendDirectMessage(input: { recipientId: "2", text: $t }) { message { id } } }',
    { t: text },
    alice,
  );
  await arrived;
  dmLatencies.push(arrivals.get(text)! - sent);
}
dmLatencies.sort((a, b) => a - b);
await ws.dispose();

const fmt = (n: number, digits = 1) => n.toFixed(digits).padStart(8);
const storage = `${database ? 'PostgreSQL' : 'embedded PGlite'}, ${redisUrl ? 'Redis' : 'in-process'} pub/sub`;
console.log(`\n${REQUESTS} requests per scenario, ${CONCURRENCY} in flight, ${storage}, one process\n`);
console.log(
  `${'scenario'.padEnd(48)}${'req/s'.padStart(8)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}${'× baseline'.padStart(12)}`,
);
for (const r of [baseline, ...results]) {
  console.log(
    `${r.name.padEnd(48)}${fmt(r.perSecond, 0)}${fmt(r.p50)}${fmt(r.p99)}${fmt(r.perSecond / baseline.perSecond, 3).padStart(12)}`,
  );
}
const direct = results[2]!;
const local = results[1]!;
console.log(
  `\nfederation overhead on the same feed query: gateway/direct throughput ${(local.perSecond / direct.perSecond).toFixed(3)}`,
);
console.log(
  `live DM, send → subscriber (200 sequential): p50 ${dmLatencies[100]!.toFixed(1)} ms, p99 ${dmLatencies[197]!.toFixed(1)} ms`,
);
console.log(`memory: rss ${rssBefore} MiB before the load, ${rss()} MiB after\n`);
await stack.stop();
await database?.drop();
if (redisUrl) await deleteRedisKeys(redisUrl, redisPrefix);
