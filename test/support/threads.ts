// Helpers for the Threads spec files: members, posts, follows, threads and feed pages through the gateway.
import { ok, type TestStack, type TestUser } from './harness.js';

interface ThreadNode {
  id: string;
  text: string;
  replyCount: number;
  likeCount: number;
  viewerHasLiked: boolean;
}

/** The viewer's feed, a page at a time. */
export const FEED = `#graphql
  query Feed($first: Int, $after: String) {
    feed(first: $first, after: $after) {
      edges { cursor node { id text author { username } } }
      pageInfo { hasNextPage endCursor }
    }
  }`;

/** What FEED answers. */
export interface FeedPage {
  feed: {
    edges: { cursor: string; node: { id: string; text: string; author: { username: string } } }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

/** The helpers bound to the stack a spec file started (`stackOf` is read at call time, after `beforeAll`). */
export function threadsHelpers(stackOf: () => TestStack) {
  /** A fresh Instagram account that has joined Threads. */
  async function member(prefix = 'thr'): Promise<TestUser> {
    const user = await stackOf().signUp(prefix);
    ok(
      await stackOf().query(
        `#graphql
      mutation { joinThreads { id } }`,
        {},
        { token: user.token },
      ),
    );
    return user;
  }

  async function post(user: TestUser, text: string, replyToId?: string): Promise<ThreadNode> {
    const result = await stackOf().query<{ postThread: ThreadNode }>(
      `#graphql
        mutation Post($text: String!, $replyToId: ID) {
          postThread(text: $text, replyToId: $replyToId) { id text replyCount likeCount viewerHasLiked }
        }`,
      { text, replyToId },
      { token: user.token },
    );
    return ok(result).postThread;
  }

  async function follow(user: TestUser, other: TestUser) {
    ok(
      await stackOf().query(
        `#graphql
      mutation Follow($id: ID!) { followProfile(id: $id) { id } }`,
        { id: other.id },
        { token: user.token },
      ),
    );
  }

  async function thread(
    id: string,
    token?: string,
  ): Promise<ThreadNode & { replies: { edges: { node: { id: string } }[] } }> {
    const result = await stackOf().query(
      `#graphql
        query Thread($id: ID!) {
          thread(id: $id) { id text replyCount likeCount viewerHasLiked replies { edges { node { id } } } }
        }`,
      { id },
      { token },
    );
    return ok(result).thread;
  }

  async function feedIds(user: TestUser, first = 50, after?: string) {
    const { feed } = ok(await stackOf().query<FeedPage>(FEED, { first, after }, { token: user.token }));
    return { ids: feed.edges.map((edge) => edge.node.id), pageInfo: feed.pageInfo };
  }

  async function profileThreadCount(username: string): Promise<number> {
    const result = await stackOf().query(
      `#graphql
      query Profile($username: String!) { profile(username: $username) { threads(first: 100) { edges { node { id } } } } }`,
      { username },
    );
    return ok(result).profile.threads.edges.length;
  }

  return { member, post, follow, thread, feedIds, profileThreadCount };
}
