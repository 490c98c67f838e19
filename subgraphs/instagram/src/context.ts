// The per-request context Instagram's resolvers receive.
import type { SubgraphContext } from '@igt/common';
import type * as schema from './db/schema.js';
import type { Loaders } from './loaders.js';
import type { LoginThrottle } from './loginThrottle.js';
import type { RelationshipPublisher } from './relationshipOutbox.js';

/** Per-request context of the Instagram subgraph. */
export interface Context extends SubgraphContext<typeof schema, Loaders> {
  auth: { jwtSecret: string; jwtTtlSeconds: number };
  /** Publishes committed relationship changes; awaited so the next request elsewhere sees them. */
  relationshipPublisher: RelationshipPublisher;
  /** Abuse limits on sign-in and sign-up. */
  loginThrottle: LoginThrottle;
}
