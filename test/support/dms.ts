// Direct-message helpers shared by the test files that send and subscribe to DMs.
import { FOLLOW, SEND_DM } from './documents.js';
import { ok, type TestStack, type TestUser } from './harness.js';

/** Sends a DM as `from` (a demo username or a signed-up person) and returns the stored message. */
export async function sendDm(
  stack: TestStack,
  from: TestUser | string,
  recipientId: string,
  text: string,
  source = 'INSTAGRAM',
) {
  const token = typeof from === 'string' ? await stack.login(from) : from.token;
  const result = await stack.query(SEND_DM, { input: { recipientId, text, source } }, { token });
  return ok(result).sendDirectMessage.message as { id: string; text: string };
}

/** Two fresh people who follow each other (so messages land in PRIMARY). */
export async function mutualPair(stack: TestStack): Promise<[TestUser, TestUser]> {
  const [a, b] = [await stack.signUp('sa'), await stack.signUp('sb')];
  for (const [who, whom] of [
    [a, b],
    [b, a],
  ] as const) {
    ok(await stack.query(FOLLOW, { userId: whom.id }, { token: who.token }));
  }
  return [a, b];
}
