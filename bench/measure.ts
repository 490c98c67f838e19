/** The bench's load generators: closed loop (a fixed number in flight) and open loop (a fixed rate), and percentiles. */

/** One request a load generator sends: where, what, and with which headers. */
export interface Request {
  url: string;
  body: unknown;
  headers?: Record<string, string>;
}

/** What one scenario measured. */
export interface Result {
  name: string;
  perSecond: number;
  p50: number;
  p99: number;
  /** How many requests were answered with data (the latencies are theirs). */
  count: number;
  /** How many failed (an error or a timeout), and the first failure's message. */
  errors: number;
  firstError: string | undefined;
}

/** Tallies failures: under overload a request may time out, which is a result to report, not a reason to stop. */
function failures() {
  const tally = { errors: 0, firstError: undefined as string | undefined };
  const record = (error: unknown): undefined => {
    tally.errors++;
    tally.firstError ??= error instanceof Error ? error.message : String(error);
    return undefined;
  };
  return { tally, record };
}

/** The q-quantile (0–1) of `values`, which must be sorted ascending. */
export const quantile = (sorted: number[], q: number) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

/** How long one request may take before it counts as failed (past the gateway's own subgraph deadline). */
const REQUEST_TIMEOUT_MS = 30_000;

/** Sends one request; throws unless the answer is a GraphQL success, so a failing scenario never counts as fast. */
export async function send(name: string, request: Request): Promise<any> {
  const response = await fetch(request.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...request.headers },
    body: JSON.stringify(request.body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const json = (await response.json()) as { data?: unknown; errors?: unknown };
  if (json.errors || !json.data) throw new Error(`${name}: HTTP ${response.status} ${JSON.stringify(json.errors)}`);
  return json.data;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How long each closed-loop run warms up and then measures. */
export interface Timing {
  warmupSeconds: number;
  seconds: number;
}

/**
 * Closed loop: `concurrency` workers each send their next request as soon as the last one is answered, for a warm-up
 * and then for `seconds`; only requests started and finished inside the measured window count. Worker `w` builds its
 * `n`-th request with `next(w, n)`, so scenarios can give each worker accounts of its own.
 */
export async function closedLoop(
  name: string,
  concurrency: number,
  timing: Timing,
  next: (worker: number, n: number) => Request,
): Promise<Result> {
  progress(name);
  const warmupEnds = performance.now() + timing.warmupSeconds * 1000;
  const ends = warmupEnds + timing.seconds * 1000;
  const latencies: number[] = [];
  const { tally, record } = failures();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      for (let n = 0; ; n++) {
        const started = performance.now();
        if (started >= ends) return;
        const answered = await send(name, next(worker, n)).then(() => true, record);
        const finished = performance.now();
        if (answered && started >= warmupEnds && finished <= ends) latencies.push(finished - started);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return {
    name,
    perSecond: latencies.length / timing.seconds,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    count: latencies.length,
    ...tally,
  };
}

/**
 * Open loop: starts request `n` at `n / rate` seconds whether or not earlier ones were answered, for `seconds`, and
 * measures each latency from when it was due (so a request that had to wait for the event loop is not flattered).
 * `onSent` hears each request's due time before it goes out, for scenarios that time what follows a request.
 */
export async function openLoop(
  name: string,
  rate: number,
  seconds: number,
  next: (n: number) => Request,
  onSent: (n: number, due: number) => void = () => {},
): Promise<Result> {
  progress(name);
  const total = Math.max(1, Math.round(rate * seconds));
  const start = performance.now();
  const pending: Promise<number | undefined>[] = [];
  const { tally, record } = failures();
  for (let n = 0; n < total; n++) {
    const due = start + (n * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    onSent(n, due);
    pending.push(send(name, next(n)).then(() => performance.now() - due, record));
  }
  const latencies = (await Promise.all(pending)).filter((latency) => latency !== undefined).sort((a, b) => a - b);
  return {
    name,
    perSecond: latencies.length / ((performance.now() - start) / 1000),
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    count: latencies.length,
    ...tally,
  };
}

const benchStarted = performance.now();
/** Says on stderr what the bench is doing, so a long run shows where it is (the results go to stdout). */
export const progress = (message: string) =>
  process.stderr.write(`[${((performance.now() - benchStarted) / 1000).toFixed(0).padStart(4)} s] ${message}\n`);
