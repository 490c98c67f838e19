/** Reading a service's Prometheus metrics in tests. */
import { eventually } from './harness.js';

/** The Prometheus text a service serves at `url`'s `/metrics` (the gateway's own listener, or a subgraph's port). */
export const metricsOf = async (url: string) => (await fetch(new URL('/metrics', url))).text();

/** The value of one sample in Prometheus text, or undefined. */
export function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith(`${name}{`) && Object.entries(labels).every(([key, value]) => l.includes(`${key}="${value}"`)),
    );
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

/**
 * Resolves once the gateway whose internal listener is `internalUrl` runs exactly `count` client subscriptions. Those
 * of one viewer share a subgraph subscription, so Messaging's count alone does not say that all have started.
 */
export const gatewaySubscriptions = (internalUrl: string, count: number) =>
  eventually(async () => sample(await metricsOf(internalUrl), 'graphql_subscriptions_active', {}) === count);
