// Threads through the gateway: Threads follows and the feed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, ok, startStack, type TestStack, type TestUser } from './support/harness.js';
import { FEED, type FeedPage, threadsHelpers } from './support/threads.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.close();
});

const { member, post, follow, feedIds } = threadsHelpers(() => stack);

describe('Threads follows', () => {
  it('should keep follower and following counts in step, idempotently', async () => {
    const fan = await member();
    const star = await member();
    const FOLLOW = `#graphql
      mutation F($id: ID!) { followProfile(id: $id) { followerCount followedByViewer } }`;
    const UNFOLLOW = `#graphql
      mutation U($id: ID!) { unfollowProfile(id: $id) { followerCount followedByViewer } }`;
    expect(ok(await stack.query(FOLLOW, { id: star.id }, { token: fan.token })).followProfile).toEqual({
      followerCount: 1,
      followedByViewer: true,
    });
    expect(ok(await stack.query(FOLLOW, { id: star.id }, { token: fan.token })).followProfile).toEqual({
      followerCount: 1,
      followedByViewer: true,
    });
    const { profile } = ok(
      await stack.query(
        `#graphql
      query P($u: String!) { profile(username: $u) { followingCount } }`,
        { u: fan.username },
      ),
    );
    expect(profile.followingCount).toBe(1);
    expect(ok(await stack.query(UNFOLLOW, { id: star.id }, { token: fan.token })).unfollowProfile).toEqual({
      followerCount: 0,
      followedByViewer: false,
    });
    expect(ok(await stack.query(UNFOLLOW, { id: star.id }, { token: fan.token })).unfollowProfile).toEqual({
      followerCount: 0,
      followedByViewer: false,
    });
  });

  it('should take many concurrent follows and unfollows between two profiles, both ways, and keep the counts true', async () => {
    const [a, b] = [await member(), await member()];
    const toggle = (who: TestUser, whom: TestUser, i: number) =>
      stack.query(
        `mutation T($id: ID!) { ${i % 2 ? 'unfollowProfile' : 'followProfile'}(id: $id) { id } }`,
        { id: whom.id },
        { token: who.token },
      );
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => [toggle(a, b, i), toggle(b, a, i)]).flat());
    for (const result of results) ok(result);
    const COUNTS = `#graphql
      query P($u: String!) { profile(username: $u) { followerCount followingCount followedByViewer } }`;
    const [pa, pb] = [
      ok(await stack.query(COUNTS, { u: a.username }, { token: b.token })).profile,
      ok(await stack.query(COUNTS, { u: b.username }, { token: a.token })).profile,
    ];
    expect(pa).toMatchObject({
      followerCount: Number(pa.followedByViewer),
      followingCount: Number(pb.followedByViewer),
    });
    expect(pb).toMatchObject({
      followerCount: Number(pb.followedByViewer),
      followingCount: Number(pa.followedByViewer),
    });
  });

  it('should refuse following yourself or an unknown profile', async () => {
    const user = await member();
    const FOLLOW = `#graphql
      mutation F($id: ID!) { followProfile(id: $id) { id } }`;
    expectError(await stack.query(FOLLOW, { id: user.id }, { token: user.token }), 'BAD_USER_INPUT', 'id');
    expectError(await stack.query(FOLLOW, { id: '987654321' }, { token: user.token }), 'NOT_FOUND');
    const { profile } = ok(
      await stack.query(
        `#graphql
      query P($u: String!) { profile(username: $u) { followingCount followerCount } }`,
        { u: user.username },
      ),
    );
    expect(profile).toEqual({ followingCount: 0, followerCount: 0 });
  });
});

describe('the feed', () => {
  it('should show top-level threads from followed profiles and the viewer, newest first', async () => {
    const viewer = await member();
    const followed = await member();
    const stranger = await member();
    await follow(viewer, followed);
    const a = await post(followed, 'followed, first');
    const b = await post(viewer, 'mine');
    await post(stranger, 'not followed');
    await post(followed, 'a reply stays out of the feed', a.id);
    const c = await post(followed, 'followed, second');
    expect((await feedIds(viewer)).ids).toEqual([c.id, b.id, a.id]);
  });

  it('should give anonymous viewers an empty feed', async () => {
    const { feed } = ok(await stack.query<FeedPage>(FEED, { first: 10 }));
    expect(feed).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });

  it('should keep pages stable when new threads are posted between them', async () => {
    const viewer = await member();
    const posted: string[] = [];
    for (let i = 0; i < 6; i += 1) posted.unshift((await post(viewer, `thread ${i}`)).id);

    const page1 = await feedIds(viewer, 2);
    expect(page1.ids).toEqual(posted.slice(0, 2));
    expect(page1.pageInfo.hasNextPage).toBe(true);
    await post(viewer, 'posted between pages');
    const page2 = await feedIds(viewer, 2, page1.pageInfo.endCursor!);
    const page3 = await feedIds(viewer, 2, page2.pageInfo.endCursor!);
    expect([...page1.ids, ...page2.ids, ...page3.ids]).toEqual(posted);
    expect(page3.pageInfo.hasNextPage).toBe(false);
  });

  it('should reject an invalid cursor or page size with BAD_USER_INPUT', async () => {
    const viewer = await member();
    expectError(await stack.query(FEED, { after: 'not-a-cursor' }, { token: viewer.token }), 'BAD_USER_INPUT', 'after');
    expectError(await stack.query(FEED, { first: 0 }, { token: viewer.token }), 'BAD_USER_INPUT', 'first');
    expectError(await stack.query(FEED, { first: 101 }, { token: viewer.token }), 'BAD_USER_INPUT', 'first');
  });

  it('should cost the same number of SQL statements for a page of 5 as for a page of 50', async () => {
    const viewer = await member('feedcost');
    const authors = [viewer, await member('feedcost'), await member('feedcost'), await member('feedcost')];
    for (const author of authors.slice(1)) await follow(viewer, author);
    for (let i = 0; i < 60; i += 1) {
      const author = authors[i % authors.length]!;
      const threadPosted = await post(author, `thread ${i} by ${author.username}`);
      // Some likes by the viewer, so viewerHasLiked is true on part of the page.
      if (i % 3 === 0) {
        ok(
          await stack.query(
            `#graphql
          mutation L($id: ID!) { likeThread(id: $id) { id } }`,
            { id: threadPosted.id },
            { token: viewer.token },
          ),
        );
      }
    }
    const PAGE = `#graphql
      query Page($first: Int) {
        feed(first: $first) {
          edges { node { id author { username user { fullName followerCount } } likeCount viewerHasLiked replyCount } }
        }
      }`;
    const cost = async (first: number) => {
      const before = stack.sqlStatements();
      const { feed } = ok(await stack.query(PAGE, { first }, { token: viewer.token }));
      expect(feed.edges).toHaveLength(first);
      return stack.sqlStatements() - before;
    };
    await cost(5); // warm-up: the first request of a kind may plan or prepare differently
    const small = await cost(5);
    const large = await cost(50);
    expect(large).toBe(small);
  });
});
