/** The gateway's view of its subgraphs' health, for `/health/subgraphs`: who can serve it, and why not. */
import { GATEWAY_ASSERTION_HEADER, signGatewayAssertion } from '@igt/common';

/** One subgraph as the gateway finds it: `ok`, or `unavailable` with the reason an operator can act on. */
export type SubgraphHealth = { status: 'ok' } | { status: 'unavailable'; reason: string };

/** How long one probe waits for a subgraph. */
const PROBE_TIMEOUT_MS = 2_000;

/**
 * Probes one subgraph: is it ready (its database, and Redis when configured, answer), and does it accept the
 * gateway's assertions (the two must share GATEWAY_SECRET)?
 */
async function probe(url: string, assertion: string): Promise<SubgraphHealth> {
  const signal = AbortSignal.timeout(PROBE_TIMEOUT_MS);
  // Both fetches start before either is awaited, and both are settled: an early failure is never left unhandled.
  const [ready, query] = await Promise.allSettled([
    fetch(new URL('/health/ready', url), { signal }),
    fetch(url, {
      method: 'POST',
      signal,
      headers: { 'content-type': 'application/json', [GATEWAY_ASSERTION_HEADER]: assertion },
      body: JSON.stringify({ query: '{ __typename }' }),
    }),
  ]);
  const unanswered: SubgraphHealth = {
    status: 'unavailable',
    reason: `unreachable or no whole answer within ${PROBE_TIMEOUT_MS} ms`,
  };
  if (ready.status === 'rejected' || query.status === 'rejected') return unanswered;
  if (!ready.value.ok)
    return { status: 'unavailable', reason: `not ready (its /health/ready answers ${ready.value.status})` };
  if (query.value.status === 401)
    return {
      status: 'unavailable',
      reason: "refuses the gateway's assertion: check that both have the same GATEWAY_SECRET",
    };
  if (!query.value.ok) return { status: 'unavailable', reason: `answers the gateway with HTTP ${query.value.status}` };
  // A status line is not an answer: a subgraph that sends headers and then stalls serves nothing.
  const body = await query.value.json().catch(() => undefined);
  if ((body as { data?: { __typename?: unknown } } | undefined)?.data?.__typename !== 'Query') return unanswered;
  return { status: 'ok' };
}

/** Probes every subgraph at once. */
export async function subgraphHealth(
  subgraphUrls: Record<string, string>,
  gatewaySecret: string,
): Promise<Record<string, SubgraphHealth>> {
  const assertion = await signGatewayAssertion(null, gatewaySecret);
  const entries = await Promise.all(
    Object.entries(subgraphUrls).map(async ([name, url]) => [name, await probe(url, assertion)] as const),
  );
  return Object.fromEntries(entries);
}

/** How long one round of subgraph probes answers `/health/subgraphs`. */
export const SUBGRAPH_PROBE_INTERVAL_MS = 2_000;

/** `load`, run at most once per `ms`: callers within that time share the last result (or the run in flight). */
export function cachedFor<T>(ms: number, load: () => Promise<T>): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    if (!last || performance.now() - last.at >= ms) last = { at: performance.now(), value: load() };
    return last.value;
  };
}
