// Federated reads through the gateway: what one query costs in SQL statements when several subgraphs answer it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok, startStack, type TestStack } from './support/harness.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.close();
});

/** SQL statements `document` costs, across all subgraphs, asked by bob (warmed up once first). */
async function statements(token: string, document: string): Promise<number> {
  ok(await stack.query(document, {}, { token }));
  const before = stack.sqlStatements();
  ok(await stack.query(document, {}, { token }));
  return stack.sqlStatements() - before;
}

describe('federated profile reads', () => {
  it("should read a profile's account once when its user and its Message button's recipient both come from Instagram", async () => {
    const bob = await stack.login('bob');
    const button = (recipient: string) => `#graphql
      query Profile {
        profile(username: "alice") {
          user { fullName followerCount }
          messageAction { enabled ${recipient} }
        }
      }`;
    // The query plan fetches `user` and `recipient` from Instagram side by side: one request to it, one read of alice.
    expect(await statements(bob, button('recipient { id username }'))).toBe(
      await statements(bob, button('recipient { id }')),
    );
    const { data } = await stack.query(button('recipient { id username }'), {}, { token: bob });
    expect(data.profile).toMatchObject({ user: { fullName: expect.any(String) }, messageAction: { enabled: true } });
    expect(data.profile.messageAction.recipient.username).toBe('alice');
  });

  it("should answer the README's profile in five statements, and a feed page with its authors' accounts in four", async () => {
    const bob = await stack.login('bob');
    const profile = `#graphql
      query Profile {
        profile(username: "alice") {
          username
          bio
          followerCount
          user { fullName followerCount isVerified }
          threads(first: 3) { edges { node { text likeCount replyCount } } pageInfo { hasNextPage endCursor } }
          messageAction { label mutation inbox enabled disabledReason recipient { id username } }
        }
      }`;
    const feed = `#graphql
      query Feed {
        feed(first: 20) {
          edges { node { text likeCount replyCount viewerHasLiked author { username user { fullName followerCount } } } }
        }
      }`;
    // Threads reads the profile (or the feed page) together with whether anyone has blocked the viewer, then its
    // threads (or likes and authors); Instagram the accounts; Messaging the Message button's conversation and blocks.
    expect(await statements(bob, profile)).toBe(5);
    expect(await statements(bob, feed)).toBe(4);
  });
});
