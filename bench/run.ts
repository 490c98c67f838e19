/**
 * `npm run bench`: drives the supergraph through its gateway and reports each scenario as a ratio to a baseline
 * measured in the same run, `{ __typename }` through the same gateway (absolute numbers depend on the machine and on
 * what else runs on it; ratios much less so). On the embedded database by default; with DATABASE_URL and REDIS_URL on
 * PostgreSQL and Redis, every service its own process (see deployment.ts). The knobs are read here, from BENCH_*.
 */
import { GATEWAY_ASSERTION_HEADER, signGatewayAssertion } from '@igt/common';
import { handTelemetryChoiceToApollo, loadConfig as loadGatewayConfig } from '@igt/gateway/config';
import { POST_THREAD } from '../test/support/documents.js';
import { startDeployment, type Instance } from './deployment.js';
import { FEED, FEED_LOCAL, PROFILE } from './documents.js';
import { fanOut, type FanOutResult } from './fanOut.js';
import { closedLoop, openLoop, progress, send, type Result, type Timing } from './measure.js';
import { bearer, dm, login, signUpMany } from './people.js';

const SCENARIOS = ['reads', 'overhead', 'send', 'fanout', 'scaleout'] as const;
type Scenario = (typeof SCENARIOS)[number];

const number = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!(value > 0)) throw new Error(`${name}: expected a number above 0, got ${JSON.stringify(process.env[name])}`);
  return value;
};
const only = (process.env.BENCH_ONLY ?? SCENARIOS.join(','))
  .split(',')
  .map((name) => name.trim())
  .filter(Boolean);
for (const name of only) {
  if (!SCENARIOS.includes(name as Scenario))
    throw new Error(`BENCH_ONLY: expected a comma-separated list of ${SCENARIOS.join(', ')}, got ${name}`);
}
const selected = (scenario: Scenario) => only.includes(scenario);
const timing: Timing = { warmupSeconds: number('BENCH_WARMUP_SECONDS', 1), seconds: number('BENCH_SECONDS', 8) };
const concurrency = number('BENCH_CONCURRENCY', 12);
const fanOutOptions = {
  subscribers: number('BENCH_SUBSCRIBERS', 2_000),
  socketsPerRecipient: number('BENCH_SOCKETS_PER_RECIPIENT', 10),
  deliveriesPerSecond: number('BENCH_DELIVERIES_PER_SECOND', 500),
  seconds: timing.seconds,
};
const databaseUrl = process.env.DATABASE_URL || undefined;
const redisUrl = process.env.REDIS_URL || undefined;
// Embedded storage lives in one process, so only PostgreSQL + Redis can run a second instance.
const instanceCount = databaseUrl && selected('scaleout') ? number('BENCH_INSTANCES', 2) : 1;
const scaleOut = selected('scaleout') && instanceCount > 1;

handTelemetryChoiceToApollo(loadGatewayConfig());
const started = performance.now();
progress('starting the services');
const deployment = await startDeployment({ databaseUrl, redisUrl }, instanceCount);
const main = deployment.instances[0]!;
const { instances } = deployment;

// The profile is alice's, seen by bob (so its Message button is his); the feed is alice's.
const alice = await login(main.gatewayUrl, 'alice');
const bob = await login(main.gatewayUrl, 'bob');
if (selected('reads') || selected('overhead') || scaleOut) {
  // A fuller feed for alice: 60 more threads from people she follows.
  for (const username of ['bob', 'carol']) {
    const token = await login(main.gatewayUrl, username);
    for (let i = 0; i < 30; i++) {
      const body = { query: POST_THREAD, variables: { text: `bench thread ${i} by ${username}` } };
      await send('postThread', { url: main.gatewayUrl, body, headers: bearer(token) });
    }
  }
}
// One pair of people per worker, so no two sends in flight share a sender or a recipient.
const pairCount = concurrency * (scaleOut ? instanceCount : 1);
const needsPairs = selected('send') || selected('fanout') || scaleOut;
const paired = needsPairs ? await signUpMany(main.gatewayUrl, 'bench_pair', pairCount * 2) : [];
const pairs = Array.from({ length: pairCount }, (_, i) => [paired[2 * i]!, paired[2 * i + 1]!] as const);
const recipients = selected('fanout')
  ? await signUpMany(
      main.gatewayUrl,
      'bench_recipient',
      Math.ceil(fanOutOptions.subscribers / fanOutOptions.socketsPerRecipient),
    )
  : [];
progress('measuring');
const setUpSeconds = (performance.now() - started) / 1000;

/** Worker `w` talks to instance `w mod n` of the first `n`: with n = 1 all of them to the first. */
const instanceOf = (worker: number, n: number) => instances[worker % n]!;
const read = (query: string, token: string, instance: (worker: number) => Instance) => (worker: number) => ({
  url: instance(worker).gatewayUrl,
  body: { query },
  headers: bearer(token),
});
/** Worker `w` sends within its own pair, one way and then back. */
const sendInPair = (instance: (worker: number) => Instance) => (worker: number, n: number) => {
  const [a, b] = pairs[worker]!;
  const [from, to] = n % 2 ? [b, a] : [a, b];
  return dm(instance(worker).gatewayUrl, from, to, `bench dm ${worker}-${n}`);
};

const baselineRun = (n = 1) =>
  closedLoop(
    'baseline: { __typename }',
    concurrency * n,
    timing,
    read('{ __typename }', alice, (w) => instanceOf(w, n)),
  );
const profileRun = (n = 1) =>
  closedLoop(
    "README's profile query (bob sees alice)",
    concurrency * n,
    timing,
    read(PROFILE, bob, (w) => instanceOf(w, n)),
  );
const feedRun = (n = 1) =>
  closedLoop(
    'feed(first: 20) + Instagram author',
    concurrency * n,
    timing,
    read(FEED, alice, (w) => instanceOf(w, n)),
  );
const sendRun = (n = 1) =>
  closedLoop(
    'sendDirectMessage, distinct pairs',
    concurrency * n,
    timing,
    sendInPair((w) => instanceOf(w, n)),
  );

/**
 * Each scenario runs between two baselines and is compared with their mean: on a machine others share, a slowdown
 * while it runs moves both sides of its ratio.
 */
const rows: { result: Result; baseline: number }[] = [];
const baselines: Result[] = [await baselineRun()];
const measure = async (run: () => Promise<Result>) => {
  const result = await run();
  const before = baselines.at(-1)!;
  const after = await baselineRun();
  baselines.push(after);
  rows.push({ result, baseline: (before.perSecond + after.perSecond) / 2 });
  return result;
};
if (selected('reads')) {
  await measure(profileRun);
  await measure(feedRun);
}
let overhead: string | undefined;
if (selected('overhead')) {
  const viaGateway = await measure(() =>
    closedLoop(
      'feed(20), Threads fields only',
      concurrency,
      timing,
      read(FEED_LOCAL, alice, () => main),
    ),
  );
  const assertion = {
    [GATEWAY_ASSERTION_HEADER]: await signGatewayAssertion({ id: '1', username: 'alice' }, deployment.gatewaySecret),
  };
  const direct = await measure(() =>
    closedLoop('  the same, straight to Threads', concurrency, timing, () => ({
      url: main.subgraphUrls.threads,
      body: { query: FEED_LOCAL },
      headers: assertion,
    })),
  );
  overhead = `federation overhead on the same feed query: through the gateway at ${(viaGateway.perSecond / direct.perSecond).toFixed(3)}× the subgraph's own throughput`;
}
let halfSaturation: Result | undefined;
if (selected('send')) {
  const distinct = await measure(sendRun);
  // Everyone writes to one person: the sends serialise on that recipient's mailbox.
  const [, recipient] = pairs[0]!;
  await measure(() =>
    closedLoop('sendDirectMessage, 12 senders → 1 recipient', concurrency, timing, (w, n) =>
      dm(main.gatewayUrl, pairs[w]![0], recipient, `bench same ${w}-${n}`),
    ),
  );
  const rate = distinct.perSecond / 2;
  halfSaturation = await measure(() =>
    openLoop(`sendDirectMessage, open loop at ${rate.toFixed(0)}/s (½ saturation)`, rate, timing.seconds, (n) =>
      sendInPair(() => main)(n % pairCount, Math.floor(n / pairCount)),
    ),
  );
}

// Each part is printed as soon as it is measured, so a run cut short still shows what it got.
const pad = (text: string, width: number) => text.padStart(width);
const fixed = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '—');
const ratio = (perSecond: number, baseline: number) => fixed(perSecond / baseline, 3);
const kib = (bytes: number | undefined) => (bytes === undefined ? '—' : `${(bytes / 1024).toFixed(1)} KiB`);
const failed = (r: Result) => (r.errors ? `  ${r.errors} failed, first: ${r.firstError}` : '');
const row = (name: string, r: Result, times: string) =>
  `${name.padEnd(56)}${pad(fixed(r.perSecond, 0), 8)}${pad(fixed(r.p50), 9)}${pad(fixed(r.p99), 9)}${pad(times, 12)}${failed(r)}`;

console.log(`\n${deployment.description}`);
console.log(
  `${concurrency} in flight, ${timing.warmupSeconds} s warm-up + ${timing.seconds} s per scenario; set-up ${setUpSeconds.toFixed(0)} s\n`,
);
console.log(`${'scenario'.padEnd(56)}${pad('req/s', 8)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}${pad('× baseline', 12)}`);
const sortedBaselines = [...baselines].sort((a, b) => a.perSecond - b.perSecond);
const medianBaseline = sortedBaselines[Math.floor(sortedBaselines.length / 2)]!;
const baseline = medianBaseline.perSecond;
const rates = sortedBaselines.map((b) => b.perSecond);
console.log(row(`baseline: { __typename } (median of ${rates.length})`, medianBaseline, '1.000'));
for (const { result, baseline: around } of rows) console.log(row(result.name, result, ratio(result.perSecond, around)));
console.log(
  `(× baseline: against the mean of the baselines right before and after each; they ranged ${fixed(rates[0]!, 0)}–${fixed(rates.at(-1)!, 0)}/s)`,
);
if (overhead) console.log(overhead);
if (halfSaturation) console.log(`send p99 at half saturation: ${fixed(halfSaturation.p99)} ms (goal < 100 ms)`);
let fanOutResult: FanOutResult | undefined;
if (selected('fanout')) {
  progress(`fan-out: opening ${fanOutOptions.subscribers} subscriptions`);
  fanOutResult = await fanOut(deployment, paired, recipients, fanOutOptions);
}

if (fanOutResult) {
  const f = fanOutResult;
  const recipientCount = recipients.length;
  console.log(
    `\nfan-out: ${fanOutOptions.subscribers} subscribers (${fanOutOptions.socketsPerRecipient} sockets each for ${recipientCount} recipients), ${fixed(fanOutOptions.deliveriesPerSecond / fanOutOptions.socketsPerRecipient, 0)} sends/s for ${timing.seconds} s`,
  );
  console.log(
    `  ${f.live} sockets live; deliveries ${f.delivered}/${f.expected}, ${fixed(f.deliveriesPerSecond, 0)}/s (${ratio(f.deliveriesPerSecond, baseline)}× baseline; goal ≥ 500/s); send → receive p50 ${fixed(f.p50)} ms, p99 ${fixed(f.p99)} ms (goal < 50 ms)`,
  );
  console.log(`  the sends themselves: p50 ${fixed(f.sends.p50)} ms, p99 ${fixed(f.sends.p99)} ms${failed(f.sends)}`);
  console.log(
    `  gateway memory per subscriber after GC: heap ${kib(f.gatewayHeap)}, RSS ${kib(f.gatewayRss)} (goal ≤ 20 KiB); Messaging: heap ${kib(f.messagingHeap)}, RSS ${kib(f.messagingRss)}`,
  );
  console.log(
    `  gateway → Messaging TCP connections: ${f.connectionsBefore} before the subscriptions, ${f.connectionsAfter} with them open`,
  );
  if (f.subscriptionFailures)
    console.log(`  ${f.subscriptionFailures} subscriptions failed, first: ${f.firstSubscriptionFailure}`);
}
const scaled: { name: string; one: Result; two: Result }[] = [];
if (scaleOut) {
  progress('scale-out');
  // Alternating, so both sides see the same machine: a noisy minute then does not favour one of them.
  for (const [name, run] of [
    ['baseline: { __typename }', baselineRun],
    ["README's profile query", profileRun],
    ['feed(first: 20) + Instagram author', feedRun],
    ['sendDirectMessage, distinct pairs', sendRun],
  ] as const) {
    scaled.push({ name, one: await run(1), two: await run(instanceCount) });
  }
}

if (scaled.length) {
  console.log(
    `\nscale-out: 1 instance (${concurrency} in flight) vs ${instanceCount} (${concurrency} in flight on each gateway)`,
  );
  console.log(
    `${'scenario'.padEnd(40)}${pad('1: req/s', 10)}${pad('p50', 8)}${pad('p99', 8)}${pad(`${instanceCount}: req/s`, 10)}${pad('p50', 8)}${pad('p99', 8)}${pad('growth', 8)}`,
  );
  for (const { name, one, two } of scaled) {
    console.log(
      `${name.padEnd(40)}${pad(fixed(one.perSecond, 0), 10)}${pad(fixed(one.p50), 8)}${pad(fixed(one.p99), 8)}${pad(fixed(two.perSecond, 0), 10)}${pad(fixed(two.p50), 8)}${pad(fixed(two.p99), 8)}${pad(`${fixed(two.perSecond / one.perSecond, 2)}×`, 8)}${failed(one)}${failed(two)}`,
    );
  }
}
progress('stopping');
await deployment.stop();

console.log('');
