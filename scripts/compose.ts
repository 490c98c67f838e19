/** Composes schema/*.graphql into schema/supergraph.graphql (`npm run compose`). */
import { writeFileSync } from 'node:fs';
import { composeSupergraph, SUPERGRAPH_PATH } from './supergraph.js';

writeFileSync(SUPERGRAPH_PATH, composeSupergraph());
console.log(`wrote ${SUPERGRAPH_PATH}`);
