/** Who is asking: clients' bearer tokens, the gateway's signed assertions to subgraphs, and the request id. */
import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { unauthenticated } from './errors.js';

/** Who is asking: the verified identity behind a request, or null for an anonymous visitor. */
export interface Viewer {
  id: string;
  username: string;
}

/** A viewer read from a client's token, with the moment (epoch milliseconds) the token stops being accepted. */
export interface VerifiedViewer extends Viewer {
  expiresAt: number;
}

/** How long a gateway assertion is accepted; the gateway signs a fresh one well before (see GATEWAY_ASSERTION_REFRESH_MS). */
const GATEWAY_ASSERTION_TTL_SECONDS = 300;
/** Age at which the gateway stops reusing an assertion, so a long-lived WebSocket never sends a stale one. */
export const GATEWAY_ASSERTION_REFRESH_MS = 60_000;

const ISSUER = 'ig-threads-supergraph';
const CLIENT_AUDIENCE = 'clients';
const SUBGRAPH_AUDIENCE = 'subgraphs';
/** Header the gateway sets on every subgraph request; subgraphs refuse requests without a valid one. */
export const GATEWAY_ASSERTION_HEADER = 'x-gateway-assertion';
/**
 * Key under which the gateway sends its assertions over graphql-ws: its own (no viewer) in `connectionParams` at
 * connect, then a fresh one in the payload of a ping at least every GATEWAY_ASSERTION_REFRESH_MS; and the viewer's in
 * the `extensions` of each subscribe message, since clients share the gateway's connections.
 */
export const GATEWAY_ASSERTION_PARAM = 'gatewayAssertion';
/** Header carrying the request id from the gateway to subgraphs, so one request can be followed in the logs. */
export const REQUEST_ID_HEADER = 'x-request-id';
/** Key of the request id in a graphql-ws subscribe message's `extensions`, from the gateway to a subgraph. */
export const REQUEST_ID_PARAM = 'requestId';

/** `value` when it looks like a request id a client or the gateway would send (8–64 word characters), else a new one. */
export function requestIdOr(value: unknown): string {
  return typeof value === 'string' && /^[\w-]{8,64}$/.test(value) ? value : randomUUID();
}

/**
 * The HMAC key of a secret, imported once: handing jose the raw bytes would import a key on every sign and verify,
 * which is most of the cost of a token check.
 */
const keyCache = new Map<string, Promise<CryptoKey>>();
function key(secret: string): Promise<CryptoKey> {
  let imported = keyCache.get(secret);
  if (!imported) {
    imported = crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
    keyCache.set(secret, imported);
  }
  return imported;
}

/** Issues the bearer token a client sends as `Authorization: Bearer <token>`. */
export async function signUserToken(viewer: Viewer, secret: string, ttlSeconds: number): Promise<string> {
  return new SignJWT({ username: viewer.username })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(viewer.id)
    .setIssuer(ISSUER)
    .setAudience(CLIENT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(await key(secret));
}

/**
 * A bounded map of values that stop being valid at a moment of their own (epoch milliseconds): verified tokens and
 * signed assertions, so that a busy client costs one HMAC per token rather than one per request. The oldest entry
 * makes room once `max` are held; an entry past its moment is never returned.
 */
export class ExpiringCache<V> {
  private readonly entries = new Map<string, { value: V; validUntil: number }>();

  constructor(private readonly max = 10_000) {}

  /** The value under `key` while it is still valid. */
  get(key: string, now = Date.now()): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.validUntil > now) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  /** Keeps `value` under `key` until `validUntil`. */
  set(key: string, value: V, validUntil: number): void {
    this.entries.delete(key);
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, validUntil });
  }

  /** Forgets what is held under `key`. */
  delete(key: string): void {
    this.entries.delete(key);
  }
}

/**
 * Tokens already verified, by secret and token: a token verifies the same way until it expires, so the HMAC need not
 * run again for it. Only successes are kept.
 */
const verifiedTokens = new ExpiringCache<VerifiedViewer>();
const verifiedAssertions = new ExpiringCache<GatewayAssertion>();
const cacheKey = (secret: string, token: string) => `${secret}\0${token}`;

/** Verifies a client's bearer token; a malformed, forged or expired token is UNAUTHENTICATED. */
async function verifyUserToken(token: string, secret: string): Promise<VerifiedViewer> {
  const cached = verifiedTokens.get(cacheKey(secret, token));
  if (cached) return cached;
  try {
    const { payload } = await jwtVerify(token, await key(secret), {
      issuer: ISSUER,
      audience: CLIENT_AUDIENCE,
      algorithms: ['HS256'],
    });
    if (typeof payload.sub !== 'string' || typeof payload.username !== 'string' || typeof payload.exp !== 'number') {
      throw unauthenticated('The token does not name a user.');
    }
    const viewer = { id: payload.sub, username: payload.username, expiresAt: payload.exp * 1000 };
    verifiedTokens.set(cacheKey(secret, token), viewer, viewer.expiresAt);
    return viewer;
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw unauthenticated('The token has expired; sign in again.');
    if (error instanceof joseErrors.JOSEError) throw unauthenticated('The token is invalid; sign in again.');
    throw error;
  }
}

/**
 * Reads `Authorization: Bearer <token>` (or a bare token). Undefined or empty means anonymous; anything else must
 * verify.
 */
export async function viewerFromAuthorization(
  value: string | undefined | null,
  secret: string,
): Promise<VerifiedViewer | null> {
  if (!value || !value.trim()) return null;
  const match = /^\s*(?:Bearer\s+)?(\S+)\s*$/i.exec(value);
  if (!match?.[1]) throw unauthenticated('Expected "Authorization: Bearer <token>".');
  return verifyUserToken(match[1], secret);
}

/** What the gateway vouches for on one subgraph request. */
export interface GatewayAssertion {
  viewer: Viewer | null;
  /**
   * The client's network address as the gateway's socket saw it, which rate limits count by; null when the signer
   * named none (the gateway's own readiness checks).
   */
  clientAddress: string | null;
}

/**
 * Signs what the gateway vouches for on one subgraph request: the viewer (or anonymous) and the client's address.
 * Short-lived (`ttlSeconds`, five minutes unless a test wants less), and signed with a secret clients never see, so a
 * client cannot forge an identity or an address by calling a subgraph directly.
 */
export async function signGatewayAssertion(
  viewer: Viewer | null,
  secret: string,
  clientAddress?: string,
  ttlSeconds = GATEWAY_ASSERTION_TTL_SECONDS,
): Promise<string> {
  return new SignJWT({
    ...(viewer ? { username: viewer.username } : { anonymous: true }),
    ...(clientAddress ? { addr: clientAddress } : {}),
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(viewer?.id ?? '')
    .setIssuer(ISSUER)
    .setAudience(SUBGRAPH_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(await key(secret));
}

/** Verifies a gateway assertion; throws UNAUTHENTICATED when it is missing, forged or stale. */
export async function verifyGatewayAssertion(
  value: string | undefined | null,
  secret: string,
): Promise<GatewayAssertion> {
  if (!value) throw unauthenticated('This service only answers requests that come through the gateway.');
  // The gateway reuses an assertion for a viewer over many requests (see signedAssertion), so most arrive verified.
  const cached = verifiedAssertions.get(cacheKey(secret, value));
  if (cached) return cached;
  try {
    const { payload } = await jwtVerify(value, await key(secret), {
      issuer: ISSUER,
      audience: SUBGRAPH_AUDIENCE,
      algorithms: ['HS256'],
    });
    const clientAddress = typeof payload.addr === 'string' ? payload.addr : null;
    let assertion: GatewayAssertion;
    if (payload.anonymous === true) assertion = { viewer: null, clientAddress };
    else if (typeof payload.sub !== 'string' || !payload.sub || typeof payload.username !== 'string') {
      throw unauthenticated('The gateway assertion does not name a viewer.');
    } else assertion = { viewer: { id: payload.sub, username: payload.username }, clientAddress };
    // Verified, so `exp` is a number (jose refuses one that is not).
    verifiedAssertions.set(cacheKey(secret, value), assertion, payload.exp! * 1000);
    return assertion;
  } catch (error) {
    if (error instanceof joseErrors.JOSEError) {
      throw unauthenticated('This service only answers requests that come through the gateway.');
    }
    throw error;
  }
}

/** The viewer's user id, or UNAUTHENTICATED for an anonymous caller of something that needs one. */
export function requireViewer({ viewerId }: { viewerId: number | null }): number {
  if (viewerId === null) throw unauthenticated();
  return viewerId;
}
