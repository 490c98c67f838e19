/** The context every Threads resolver receives: the request, its loaders, and the catch-up with Instagram's blocks. */
import type { SubgraphContext } from '@igt/common';
import type * as schema from './db/schema.js';
import type { Loaders } from './loaders.js';

/** Per-request context of the Threads subgraph. */
export interface Context extends SubgraphContext<typeof schema, Loaders> {
  /**
   * Brings the blocks projection up to date with Instagram's relationships stream; the first call in a request does
   * the work and later ones share it. Awaited before anything that depends on blocks, so a block Instagram has
   * acknowledged is honoured by the very next request.
   */
  catchUpBlocks(): Promise<void>;
}
