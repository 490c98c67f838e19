/** Regenerates every subgraph's resolver types from its SDL (`npm run codegen`). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { SUBGRAPHS } from './supergraph.js';
import { generateResolverTypes, resolverTypesPath } from './resolver-types.js';

for (const name of SUBGRAPHS) {
  const path = resolverTypesPath(name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, await generateResolverTypes(name));
  console.log(`wrote ${path}`);
}
