// Requests sent straight to one subgraph, vouched for by a gateway assertion as the gateway sends them.
import { GATEWAY_ASSERTION_HEADER, signGatewayAssertion } from '@igt/common';
import { TEST_GATEWAY_SECRET, type GraphQLResponse, type TestStack } from './harness.js';

/** A subgraph of the test stack, by name. */
export type Subgraph = keyof TestStack['subgraphUrls'];

/** Sends `document` straight to `subgraph` of `stack`, as the gateway would on `viewer`'s behalf. */
export async function onSubgraph(
  stack: Pick<TestStack, 'subgraphUrls'>,
  subgraph: Subgraph,
  viewer: { id: string; username: string },
  document: string,
  variables: Record<string, unknown> = {},
): Promise<GraphQLResponse> {
  const response = await fetch(stack.subgraphUrls[subgraph], {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      [GATEWAY_ASSERTION_HEADER]: await signGatewayAssertion(viewer, TEST_GATEWAY_SECRET),
    },
    body: JSON.stringify({ query: document, variables }),
  });
  return (await response.json()) as GraphQLResponse;
}
