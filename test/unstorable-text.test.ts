/** Text PostgreSQL cannot store is the client's BAD_USER_INPUT, stores nothing, and never lands in the logs. */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEND_DM } from './support/documents.js';
import { expectError, ok, startStack, type TestStack, type TestUser } from './support/harness.js';

let stack: TestStack;
const logs: string[] = [];

beforeAll(async () => {
  stack = await startStack({ logs });
});

afterAll(async () => {
  await stack?.close();
});

/** Conversations in every folder of `user`'s inbox. */
async function conversationCount(user: TestUser): Promise<number> {
  const folders = ['PRIMARY', 'GENERAL', 'REQUESTS'];
  let count = 0;
  for (const folder of folders) {
    const data = ok(
      await stack.query<{ inbox: { edges: unknown[] } }>(
        `query ($f: InboxFolder) { inbox(folder: $f) { edges { cursor } } }`,
        { f: folder },
        { token: user.token },
      ),
    );
    count += data.inbox.edges.length;
  }
  return count;
}

/** Fails when any captured log line holds one of `secrets`; also waits a moment for late lines. */
async function expectLogsFreeOf(...secrets: string[]): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 100));
  const all = logs.join('\n');
  // The stack logs as it goes: an empty capture would prove nothing.
  expect(all).toContain('graphql operation');
  for (const secret of secrets) expect(all).not.toContain(secret);
  expect(all).not.toContain('scrypt$');
}

describe('text PostgreSQL cannot store', () => {
  it('should refuse a direct message with a NUL byte as BAD_USER_INPUT, store nothing and log none of it', async () => {
    const [sender, recipient] = [await stack.signUp('nul_dm'), await stack.signUp('nul_dm')];
    const secret = `private words ${randomUUID()}`;
    const result = await stack.query(
      SEND_DM,
      { input: { recipientId: recipient.id, text: `${secret}\u0000tail` } },
      { token: sender.token },
    );
    expectError(result, 'BAD_USER_INPUT', 'input.text');
    expect(await conversationCount(sender)).toBe(0);
    expect(await conversationCount(recipient)).toBe(0);
    await expectLogsFreeOf(secret);
  });

  it('should refuse a direct message with an unpaired surrogate rather than store it altered', async () => {
    const [sender, recipient] = [await stack.signUp('lone_dm'), await stack.signUp('lone_dm')];
    const secret = `private words ${randomUUID()}`;
    const result = await stack.query(
      SEND_DM,
      { input: { recipientId: recipient.id, text: `${secret}\ud800` } },
      { token: sender.token },
    );
    expectError(result, 'BAD_USER_INPUT', 'input.text');
    expect(await conversationCount(recipient)).toBe(0);
    await expectLogsFreeOf(secret);
  });

  it('should refuse a NUL byte written as a literal in the operation the same way', async () => {
    const [sender, recipient] = [await stack.signUp('nul_lit'), await stack.signUp('nul_lit')];
    const secret = `private-${randomUUID()}`;
    const result = await stack.query(
      `mutation { sendDirectMessage(input: { recipientId: "${recipient.id}", text: "${secret}\\u0000" }) { message { id } } }`,
      {},
      { token: sender.token },
    );
    expectError(result, 'BAD_USER_INPUT', 'input.text');
    expect(await conversationCount(recipient)).toBe(0);
    await expectLogsFreeOf(secret);
  });

  it('should refuse a sign-up with a NUL byte in fullName, create no account and log neither password nor hash', async () => {
    const username = `nul_${randomUUID().slice(0, 8)}`;
    const password = `password-${randomUUID()}`;
    const fullName = `Name ${randomUUID()}`;
    const result = await stack.query(
      'mutation ($u: String!, $p: String!, $n: String!) { signUp(username: $u, password: $p, fullName: $n) { token } }',
      { u: username, p: password, n: `${fullName}\u0000` },
    );
    expectError(result, 'BAD_USER_INPUT', 'fullName');
    expect(ok(await stack.query('query ($u: String!) { user(username: $u) { id } }', { u: username })).user).toBeNull();
    expectError(
      await stack.query('mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { token } }', {
        u: username,
        p: password,
      }),
      'UNAUTHENTICATED',
    );
    await expectLogsFreeOf(password, fullName);
  });

  it('should refuse an idempotencyKey with a NUL byte, store nothing and log neither key nor text', async () => {
    const [sender, recipient] = [await stack.signUp('nul_key'), await stack.signUp('nul_key')];
    const key = `key-${randomUUID()}`;
    const secret = `private words ${randomUUID()}`;
    const result = await stack.query(
      SEND_DM,
      { input: { recipientId: recipient.id, text: secret, idempotencyKey: `${key}\u0000` } },
      { token: sender.token },
    );
    expectError(result, 'BAD_USER_INPUT', 'input.idempotencyKey');
    expect(await conversationCount(sender)).toBe(0);
    expect(await conversationCount(recipient)).toBe(0);
    await expectLogsFreeOf(key, secret);
  });
});
