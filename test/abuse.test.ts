// Abuse limits through the gateway: a sign-in lockout parallel guesses cannot outrun, limits per client address on
// sign-in, sign-up and sending DMs, and no locking other people out of their accounts from one address.
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { LOGIN, SIGN_UP } from './support/documents.js';
import {
  expectError,
  ok,
  SIGN_UP_PASSWORD,
  startExtraGateway,
  startStack,
  type GraphQLResponse,
  type TestStack,
} from './support/harness.js';

/** SIGN_UP's variables for a new person called `username`. */
const signUpVariables = (username: string) => ({ username, password: SIGN_UP_PASSWORD, fullName: 'Test Person' });
const SEND =
  'mutation ($to: ID!, $t: String!) { sendDirectMessage(input: { recipientId: $to, text: $t }) { message { id } } }';

/**
 * Sends a GraphQL request to the gateway from `localAddress` (any 127.x.y.z reaches a gateway on 127.0.0.1 on Linux),
 * so the gateway sees one client address per simulated client.
 */
function queryFrom<T = any>(
  stack: TestStack,
  localAddress: string,
  document: string,
  variables: Record<string, unknown> = {},
  token?: string,
  extraHeaders: Record<string, string> = {},
) {
  const body = JSON.stringify({ query: document, variables });
  return new Promise<GraphQLResponse<T>>((resolve, reject) => {
    const headers = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...extraHeaders,
    };
    const req = request(stack.gatewayUrl, { method: 'POST', localAddress, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        try {
          resolve(JSON.parse(text) as GraphQLResponse<T>);
        } catch (error) {
          reject(error);
        }
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const uniqueName = (prefix: string) => `${prefix}_${randomBytes(4).toString('hex')}`;

/** Signs up a fresh person from `address`; returns their id, username and token. */
async function signUpFrom(stack: TestStack, address: string, prefix = 'abuse') {
  const username = uniqueName(prefix);
  const result = ok(
    await queryFrom<{ signUp: { token: string; user: { id: string } } }>(
      stack,
      address,
      SIGN_UP,
      signUpVariables(username),
    ),
  );
  return { id: result.signUp.user.id, username, token: result.signUp.token };
}

/** Expects TOO_MANY_ATTEMPTS with a retryAfterSeconds within (0, `atMost`]. */
function expectTooMany(result: GraphQLResponse, atMost: number): void {
  expectError(result, 'TOO_MANY_ATTEMPTS');
  const retryAfterSeconds = result.errors?.[0]?.extensions?.retryAfterSeconds;
  expect(retryAfterSeconds).toBeGreaterThan(0);
  expect(retryAfterSeconds).toBeLessThanOrEqual(atMost);
}

const codes = (results: GraphQLResponse[]) => results.map((result) => result.errors?.[0]?.extensions?.code ?? 'OK');

describe('the sign-in lockout', () => {
  // Long enough for forty sign-ins to land within it on a busy machine, short enough to wait for its end.
  const WINDOW_SECONDS = 10;
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startStack({
      seed: false,
      limits: { accounts: { lockout: { points: 5, durationSeconds: WINDOW_SECONDS } } },
    });
  });
  afterAll(() => stack?.close());

  it('should check at most five passwords when forty wrong guesses arrive at once, and refuse the right one until the window ends', async () => {
    const user = await stack.signUp('race');
    const guesses = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        stack.query(LOGIN, { username: user.username, password: `wrong-guess-${i}` }),
      ),
    );
    const outcomes = codes(guesses);
    // Each UNAUTHENTICATED is a password that was checked; everything else must have been refused before checking.
    expect(outcomes.filter((code) => code === 'UNAUTHENTICATED')).toHaveLength(5);
    expect(outcomes.filter((code) => code === 'TOO_MANY_ATTEMPTS')).toHaveLength(35);
    for (const refused of guesses.filter((guess) => guess.errors?.[0]?.extensions?.code === 'TOO_MANY_ATTEMPTS')) {
      expectTooMany(refused, WINDOW_SECONDS);
    }

    const locked = await stack.query(LOGIN, { username: user.username, password: SIGN_UP_PASSWORD });
    expectTooMany(locked, WINDOW_SECONDS);
    await new Promise((resolve) =>
      setTimeout(resolve, Number(locked.errors?.[0]?.extensions?.retryAfterSeconds) * 1000 + 250),
    );
    ok(await stack.query(LOGIN, { username: user.username, password: SIGN_UP_PASSWORD }));
  });
});

describe('limits per client address', () => {
  const WINDOW_SECONDS = 900;
  let stack: TestStack;
  let carolId: string;

  beforeAll(async () => {
    stack = await startStack({
      limits: {
        accounts: {
          signInPerAddress: { points: 8, durationSeconds: WINDOW_SECONDS },
          signInPerAccount: { points: 12, durationSeconds: WINDOW_SECONDS },
          signUpPerAddress: { points: 2, durationSeconds: WINDOW_SECONDS },
        },
        sending: {
          perAccount: { points: 3, durationSeconds: WINDOW_SECONDS },
          perAddress: { points: 5, durationSeconds: WINDOW_SECONDS },
        },
      },
    });
    carolId = ok(await stack.query<{ user: { id: string } }>('{ user(username: "carol") { id } }')).user.id;
  });
  afterAll(() => stack?.close());

  it('should refuse a third sign-up from one address, and not from another', async () => {
    await signUpFrom(stack, '127.0.0.20');
    await signUpFrom(stack, '127.0.0.20');
    expectTooMany(await queryFrom(stack, '127.0.0.20', SIGN_UP, signUpVariables(uniqueName('third'))), WINDOW_SECONDS);
    await signUpFrom(stack, '127.0.0.21');
  });

  it('should believe X-Forwarded-For only from a trusted proxy', async () => {
    const behindProxy = await startExtraGateway(stack, { trustedProxies: ['loopback'] });
    try {
      const signUpVia = async (url: string, forwardedFor: string) =>
        (await (
          await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
            body: JSON.stringify({ query: SIGN_UP, variables: signUpVariables(uniqueName('xff')) }),
          })
        ).json()) as GraphQLResponse;
      // Behind a trusted proxy, each forwarded-for client has limits of its own.
      ok(await signUpVia(behindProxy.url, '203.0.113.7'));
      ok(await signUpVia(behindProxy.url, '203.0.113.7'));
      expectTooMany(await signUpVia(behindProxy.url, '203.0.113.7'), WINDOW_SECONDS);
      ok(await signUpVia(behindProxy.url, '203.0.113.8'));
    } finally {
      await behindProxy.stop();
    }
    // Without one, a client cannot pick its address: the header is ignored.
    await signUpFrom(stack, '127.0.0.23');
    await signUpFrom(stack, '127.0.0.23');
    const forged = await queryFrom(stack, '127.0.0.23', SIGN_UP, signUpVariables(uniqueName('forged')), undefined, {
      'x-forwarded-for': '198.51.100.1',
    });
    expectTooMany(forged, WINDOW_SECONDS);
  });

  it('should count sign-ups over WebSocket against the address they came from', async () => {
    const client = stack.wsClient(undefined, {
      webSocketImpl: class extends WebSocket {
        constructor(url: string, protocols?: string | string[]) {
          super(url, protocols, { localAddress: '127.0.0.22' });
        }
      },
    });
    for (let i = 0; i < 2; i++) {
      const result = await new Promise<GraphQLResponse>((resolve, reject) => {
        let received: GraphQLResponse = {};
        client.subscribe(
          { query: SIGN_UP, variables: signUpVariables(uniqueName('ws')) },
          {
            next: (value) => (received = value as GraphQLResponse),
            error: reject,
            complete: () => resolve(received),
          },
        );
      });
      ok(result);
    }
    expectTooMany(await queryFrom(stack, '127.0.0.22', SIGN_UP, signUpVariables(uniqueName('http'))), WINDOW_SECONDS);
  });

  it('should stop one address guessing across accounts before it can lock anyone out', async () => {
    const victims = [
      await signUpFrom(stack, '127.0.1.1'),
      await signUpFrom(stack, '127.0.1.1'),
      await signUpFrom(stack, '127.0.1.2'),
    ];
    const attacker = '127.0.0.30';
    const outcomes: string[] = [];
    for (const victim of victims) {
      for (let i = 0; i < 6; i++)
        outcomes.push(
          ...codes([await queryFrom(stack, attacker, LOGIN, { username: victim.username, password: `guess-${i}` })]),
        );
    }
    // Eight sign-ins that did not succeed (the address's limit), seven of them passwords checked: five at the first
    // account (the pair's lockout, which refuses the sixth), two at the second, none at the third.
    expect(outcomes).toEqual([
      ...Array(5).fill('UNAUTHENTICATED'),
      'TOO_MANY_ATTEMPTS',
      ...Array(2).fill('UNAUTHENTICATED'),
      ...Array(10).fill('TOO_MANY_ATTEMPTS'),
    ]);
    const refused = await queryFrom(stack, attacker, LOGIN, {
      username: victims[2]!.username,
      password: SIGN_UP_PASSWORD,
    });
    expectTooMany(refused, WINDOW_SECONDS);
    expect(refused.errors?.[0]?.message).toMatch(/from your network/);
    // The owners, elsewhere, are not locked out.
    for (const victim of victims)
      ok(await queryFrom(stack, '127.0.0.31', LOGIN, { username: victim.username, password: SIGN_UP_PASSWORD }));
  });

  it('should cap guesses at one account spread over many addresses', async () => {
    const victim = await signUpFrom(stack, '127.0.1.3');
    for (const address of ['127.0.0.40', '127.0.0.41']) {
      for (let i = 0; i < 5; i++)
        expectError(
          await queryFrom(stack, address, LOGIN, { username: victim.username, password: `guess-${i}` }),
          'UNAUTHENTICATED',
        );
    }
    for (let i = 0; i < 2; i++)
      expectError(
        await queryFrom(stack, '127.0.0.42', LOGIN, { username: victim.username, password: `guess-${i}` }),
        'UNAUTHENTICATED',
      );
    const refused = await queryFrom(stack, '127.0.0.43', LOGIN, {
      username: victim.username,
      password: SIGN_UP_PASSWORD,
    });
    expectTooMany(refused, WINDOW_SECONDS);
    expect(refused.errors?.[0]?.message).toMatch(/for this account/);
  });

  it("should forget an address's wrong passwords at an account once it signs in there with the right one", async () => {
    const user = await signUpFrom(stack, '127.0.1.4');
    // 4 + 3 wrong passwords would lock the pair out (5) without the sign-in between them; the address's limit (8) holds.
    for (const typos of [4, 3]) {
      for (let i = 0; i < typos; i++)
        expectError(
          await queryFrom(stack, '127.0.0.45', LOGIN, { username: user.username, password: `typo-${i}` }),
          'UNAUTHENTICATED',
        );
      ok(await queryFrom(stack, '127.0.0.45', LOGIN, { username: user.username, password: SIGN_UP_PASSWORD }));
    }
  });

  it('should limit the messages one account sends, and then those from one address', async () => {
    const sender = await signUpFrom(stack, '127.0.1.5');
    for (let i = 0; i < 3; i++)
      ok(await queryFrom(stack, '127.0.0.50', SEND, { to: carolId, t: `hello ${i}` }, sender.token));
    const tooFast = await queryFrom(stack, '127.0.0.51', SEND, { to: carolId, t: 'one more' }, sender.token);
    expectTooMany(tooFast, WINDOW_SECONDS);
    expect(tooFast.errors?.[0]?.message).toMatch(/too fast/);

    // Five sends from one address whoever sends them; the sixth is refused, and not from another address.
    const others = [
      await signUpFrom(stack, '127.0.1.6'),
      await signUpFrom(stack, '127.0.1.6'),
      await signUpFrom(stack, '127.0.1.7'),
    ];
    for (const [i, other] of [others[0]!, others[0]!, others[0]!, others[1]!, others[1]!].entries()) {
      ok(await queryFrom(stack, '127.0.0.52', SEND, { to: carolId, t: `shared ${i}` }, other.token));
    }
    const fromNetwork = await queryFrom(stack, '127.0.0.52', SEND, { to: carolId, t: 'sixth' }, others[2]!.token);
    expectTooMany(fromNetwork, WINDOW_SECONDS);
    expect(fromNetwork.errors?.[0]?.message).toMatch(/from your network/);
    ok(await queryFrom(stack, '127.0.0.53', SEND, { to: carolId, t: 'elsewhere' }, others[2]!.token));
  });
});
