/**
 * Composes the subgraph SDLs into the supergraph and the API schema clients see (`npm run compose`, and the test that
 * the committed ones are fresh).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { composeServices } from '@apollo/composition';
import { Supergraph } from '@apollo/federation-internals';
import { parse, printSchema } from 'graphql';
import { schemaWithDefer } from '@igt/gateway';

/** The subgraphs, their SDL files and the URLs they answer on by default. */
export const SUBGRAPHS = ['instagram', 'threads', 'messaging'] as const;

/** Where `npm run compose` writes the supergraph; the gateway serves that file, and a test checks it is up to date. */
export const SUPERGRAPH_PATH = fileURLToPath(new URL('../schema/supergraph.graphql', import.meta.url));

/**
 * Where `npm run compose` writes the API schema: the graph as clients see it, without federation's internals, for
 * client code generators and editors that should not need introspection.
 */
export const API_SCHEMA_PATH = fileURLToPath(new URL('../schema/api.graphql', import.meta.url));

/** Composes the committed subgraph SDLs; throws listing every composition error. */
export function composeSupergraph(): string {
  const result = composeServices(
    SUBGRAPHS.map((name) => ({
      name,
      // The gateway replaces these with configured URLs; composition only needs them to be well-formed.
      url: `http://${name}.invalid/graphql`,
      typeDefs: parse(readFileSync(new URL(`../schema/${name}.graphql`, import.meta.url), 'utf8')),
    })),
  );
  if (result.errors) {
    throw new Error(`Composition failed:\n${result.errors.map((error) => `  ${error.message}`).join('\n')}`);
  }
  return result.supergraphSdl;
}

/**
 * The API schema of a supergraph as the gateway serves it, printed: what introspection through the gateway shows,
 * descriptions and `@defer` included.
 */
export function apiSchemaOf(supergraphSdl: string): string {
  return printSchema(schemaWithDefer(Supergraph.build(supergraphSdl).apiSchema().toGraphQLJSSchema()));
}
