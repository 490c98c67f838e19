/** Composes schema/*.graphql into schema/supergraph.graphql and the client-facing schema/api.graphql (`npm run compose`). */
import { writeFileSync } from 'node:fs';
import { API_SCHEMA_PATH, apiSchemaOf, composeSupergraph, SUPERGRAPH_PATH } from './supergraph.js';

const supergraph = composeSupergraph();
writeFileSync(SUPERGRAPH_PATH, supergraph);
console.log(`wrote ${SUPERGRAPH_PATH}`);
writeFileSync(API_SCHEMA_PATH, apiSchemaOf(supergraph));
console.log(`wrote ${API_SCHEMA_PATH}`);
