/** The gateway's per-request (and per-WebSocket) context: the viewer and the assertion subgraphs require. */
import { randomUUID } from 'node:crypto';
import { ExpiringCache, GATEWAY_ASSERTION_REFRESH_MS, signGatewayAssertion, type Viewer } from '@igt/common';

/** Per-request (or per-WebSocket-connection) context of the gateway. */
export interface GatewayContext {
  viewer: Viewer | null;
  requestId: string;
  /**
   * The signed assertion of `viewer` that subgraphs require. Reused while young, signed anew once older than
   * GATEWAY_ASSERTION_REFRESH_MS: a WebSocket connection lives far longer than an assertion is accepted.
   */
  assertion(): Promise<string>;
}

/**
 * Signed assertions by secret, viewer and client address, shared by every request: an assertion says nothing about
 * the request it rides on, so one viewer's requests from one address reuse it until it is GATEWAY_ASSERTION_REFRESH_MS
 * old (well inside its life), rather than paying an HMAC per request. Subgraphs then find it already verified too.
 */
const signedAssertions = new ExpiringCache<Promise<string>>();

/** The assertion of `viewer` from `clientAddress`, signed at most GATEWAY_ASSERTION_REFRESH_MS ago. */
function signedAssertion(viewer: Viewer | null, gatewaySecret: string, clientAddress: string | undefined) {
  const key = JSON.stringify([gatewaySecret, viewer?.id ?? null, viewer?.username ?? null, clientAddress ?? null]);
  let assertion = signedAssertions.get(key);
  if (!assertion) {
    assertion = signGatewayAssertion(viewer, gatewaySecret, clientAddress);
    signedAssertions.set(key, assertion, Date.now() + GATEWAY_ASSERTION_REFRESH_MS);
    // A failed signature is not kept for the next request.
    assertion.catch(() => {
      if (signedAssertions.get(key) === assertion) signedAssertions.delete(key);
    });
  }
  return assertion;
}

/**
 * Builds a gateway context for a verified viewer. `clientAddress` is the client socket's remote address: it goes into
 * the signed assertion, so a subgraph's rate limits count by an address the client cannot forge.
 */
export function createGatewayContext(
  viewer: Viewer | null,
  gatewaySecret: string,
  {
    clientAddress,
    requestId = randomUUID(),
  }: { clientAddress?: string | undefined; requestId?: string | undefined } = {},
): GatewayContext {
  return { viewer, requestId, assertion: () => signedAssertion(viewer, gatewaySecret, clientAddress) };
}
