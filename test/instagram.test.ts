/** Instagram through the gateway: accounts and sign-in, follows, requests and blocks, close friends and status. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, ok, SIGN_UP_PASSWORD, startStack, type TestStack, type TestUser } from './support/harness.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.close();
});

const USER_FIELDS = `#graphql
  fragment Person on User { id username followerCount followingCount followedByViewer followsViewer isCloseFriend blockedByViewer }`;

async function person(username: string, token?: string) {
  const result = await stack.query(
    `#graphql
      query Person($username: String!) { user(username: $username) { ...Person status { emoji text kind activity } } }
      ${USER_FIELDS}`,
    { username },
    { token },
  );
  return ok(result).user;
}

const mutate = (user: TestUser, field: string, args: string, variables: Record<string, unknown>) =>
  stack.query(`mutation M(${args}) { ${field} { ...Person } } ${USER_FIELDS}`, variables, { token: user.token });

describe('accounts', () => {
  it('should sign up, sign in and read the viewer with the token', async () => {
    const username = `new_${Date.now().toString(36)}`;
    const signUp = ok(
      await stack.query(`#graphql
        mutation { signUp(username: "${username}", password: "a long password", fullName: "New Person") { token expiresAt user { username fullName } } }`),
    ).signUp;
    expect(signUp.user).toEqual({ username, fullName: 'New Person' });
    expect(Date.parse(signUp.expiresAt)).toBeGreaterThan(Date.now());

    const login = ok(
      await stack.query(
        `mutation { login(username: "${username.toUpperCase()}", password: "a long password") { token } }`,
      ),
    ).login;
    const viewer = ok(
      await stack.query('{ viewer { username isPrivate isVerified bio avatarUrl } }', {}, { token: login.token }),
    );
    expect(viewer.viewer).toEqual({ username, isPrivate: false, isVerified: false, bio: '', avatarUrl: null });
  });

  it('should refuse a duplicate username and store nothing', async () => {
    const result = await stack.query(
      'mutation { signUp(username: "alice", password: "another password", fullName: "Fake Alice") { token } }',
    );
    expectError(result, 'USERNAME_TAKEN', 'username');
    const login = await stack.query('mutation { login(username: "alice", password: "another password") { token } }');
    expectError(login, 'UNAUTHENTICATED');
    expect((await person('alice')).id).toBe('1');
  });

  it('should refuse invalid sign-up input with BAD_USER_INPUT naming the argument', async () => {
    const cases: [string, string][] = [
      ['signUp(username: "a", password: "long enough pw", fullName: "X")', 'username'],
      ['signUp(username: "has space", password: "long enough pw", fullName: "X")', 'username'],
      ['signUp(username: "valid_name_1", password: "short", fullName: "X")', 'password'],
      ['signUp(username: "valid_name_2", password: "long enough pw", fullName: "   ")', 'fullName'],
    ];
    for (const [call, argument] of cases) {
      expectError(await stack.query(`mutation { ${call} { token } }`), 'BAD_USER_INPUT', argument);
    }
    expect(ok(await stack.query('{ user(username: "valid_name_1") { id } }')).user).toBeNull();
  });

  it('should answer the same UNAUTHENTICATED for a wrong password and an unknown username', async () => {
    const wrongPassword = await stack.query(
      'mutation { login(username: "alice", password: "not-the-password") { token } }',
    );
    const unknownUser = await stack.query(
      'mutation { login(username: "nobody_here", password: "demo-password") { token } }',
    );
    expectError(wrongPassword, 'UNAUTHENTICATED');
    expectError(unknownUser, 'UNAUTHENTICATED');
    expect(wrongPassword.errors?.[0]?.message).toBe(unknownUser.errors?.[0]?.message);
  });

  it('should refuse a username or password no account can have as BAD_USER_INPUT, before counting or storing anything', async () => {
    const before = stack.sqlStatements();
    const LOGIN = 'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { token } }';
    expectError(await stack.query(LOGIN, { u: 'x'.repeat(5_000), p: 'demo-password' }), 'BAD_USER_INPUT', 'username');
    expectError(await stack.query(LOGIN, { u: 'alice', p: 'p'.repeat(100_000) }), 'BAD_USER_INPUT', 'password');
    expect(stack.sqlStatements()).toBe(before);
  });

  it('should refuse sign-in for a while after five wrong passwords, even with the right one', async () => {
    const user = await stack.signUp('guess');
    const attempt = (password: string) =>
      stack.query('mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { token } }', {
        u: user.username,
        p: password,
      });
    for (let i = 0; i < 4; i++) expectError(await attempt(`wrong-${i}`), 'UNAUTHENTICATED');
    // A success before the limit forgets the failures.
    ok(await attempt(SIGN_UP_PASSWORD));
    for (let i = 0; i < 5; i++) expectError(await attempt(`wrong-again-${i}`), 'UNAUTHENTICATED');
    const locked = await attempt(SIGN_UP_PASSWORD);
    expectError(locked, 'TOO_MANY_ATTEMPTS');
    expect(locked.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThan(800);
    // Other accounts are not affected, and tokens already issued keep working.
    ok(await stack.query('mutation { login(username: "carol", password: "demo-password") { token } }'));
    expect(ok(await stack.query('{ viewer { username } }', {}, { token: user.token })).viewer.username).toBe(
      user.username,
    );
  });

  it('should return null for an unknown username', async () => {
    expect(await person('no_such_person')).toBeNull();
  });

  it('should edit the viewer profile and validate it', async () => {
    const user = await stack.signUp('edit');
    const edited = ok(
      await stack.query(
        'mutation { updateProfile(input: { bio: "Hello", avatarUrl: "https://example.com/a.png", isPrivate: true }) { bio avatarUrl isPrivate } }',
        {},
        { token: user.token },
      ),
    );
    expect(edited.updateProfile).toEqual({ bio: 'Hello', avatarUrl: 'https://example.com/a.png', isPrivate: true });
    expectError(
      await stack.query(
        'mutation { updateProfile(input: { avatarUrl: "javascript:alert(1)" }) { bio } }',
        {},
        { token: user.token },
      ),
      'BAD_USER_INPUT',
      'input.avatarUrl',
    );
  });
});

describe('social graph', () => {
  it('should follow and unfollow idempotently, keeping counts in step', async () => {
    const [a, b] = [await stack.signUp('fa'), await stack.signUp('fb')];
    const follow = ok(await mutate(a, 'follow(userId: $id)', '$id: ID!', { id: b.id })).follow;
    expect(follow).toMatchObject({ followerCount: 1, followedByViewer: true, followsViewer: false });
    ok(await mutate(a, 'follow(userId: $id)', '$id: ID!', { id: b.id }));
    expect(await person(b.username, a.token)).toMatchObject({ followerCount: 1, followedByViewer: true });
    expect(await person(a.username, b.token)).toMatchObject({ followingCount: 1, followsViewer: true });

    const unfollow = ok(await mutate(a, 'unfollow(userId: $id)', '$id: ID!', { id: b.id })).unfollow;
    expect(unfollow).toMatchObject({ followerCount: 0, followedByViewer: false });
    ok(await mutate(a, 'unfollow(userId: $id)', '$id: ID!', { id: b.id }));
    expect(await person(a.username)).toMatchObject({ followingCount: 0 });
  });

  it('should take many concurrent follows and unfollows between two people, both ways, and keep the counts true', async () => {
    const [a, b] = [await stack.signUp('cca'), await stack.signUp('ccb')];
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => [
        mutate(a, `${i % 2 ? 'unfollow' : 'follow'}(userId: $id)`, '$id: ID!', { id: b.id }),
        mutate(b, `${i % 2 ? 'unfollow' : 'follow'}(userId: $id)`, '$id: ID!', { id: a.id }),
      ]).flat(),
    );
    for (const result of results) ok(result);
    const [pa, pb] = [await person(a.username, b.token), await person(b.username, a.token)];
    expect(pa).toMatchObject({ followerCount: Number(pa.followedByViewer), followingCount: Number(pa.followsViewer) });
    expect(pb).toMatchObject({ followerCount: Number(pb.followedByViewer), followingCount: Number(pb.followsViewer) });
  });

  it('should page followers newest first with opaque cursors stable under inserts', async () => {
    const star = await stack.signUp('star');
    const fans: TestUser[] = [];
    for (let i = 0; i < 4; i++) {
      const fan = await stack.signUp('fan');
      ok(await mutate(fan, 'follow(userId: $id)', '$id: ID!', { id: star.id }));
      fans.push(fan);
    }
    const page = async (after?: string) =>
      ok(
        await stack.query(
          `query ($u: String!, $after: String) { user(username: $u) { followers(first: 2, after: $after) { edges { cursor node { username } } pageInfo { hasNextPage endCursor } } } }`,
          { u: star.username, after },
        ),
      ).user.followers;
    const first = await page();
    expect(first.edges.map((e: any) => e.node.username)).toEqual([fans[3]!.username, fans[2]!.username]);
    // A new follower arriving between pages does not shift the next page.
    const late = await stack.signUp('late');
    ok(await mutate(late, 'follow(userId: $id)', '$id: ID!', { id: star.id }));
    const second = await page(first.pageInfo.endCursor);
    expect(second.edges.map((e: any) => e.node.username)).toEqual([fans[1]!.username, fans[0]!.username]);
    expect(second.pageInfo.hasNextPage).toBe(false);
    expectError(
      await stack.query('{ user(username: "alice") { followers(after: "bm9wZQ") { edges { cursor } } } }'),
      'BAD_USER_INPUT',
      'after',
    );
    expectError(
      await stack.query('{ user(username: "alice") { followers(first: 500) { edges { cursor } } } }'),
      'BAD_USER_INPUT',
      'first',
    );
  });

  it('should hide a private account lists from people who do not follow it', async () => {
    // frank is private in the demo data and followed by nobody; bob is followed by frank.
    const bob = await stack.login('bob');
    const frankAsBob = ok(
      await stack.query(
        '{ user(username: "frank") { followers { edges { cursor } } following { edges { node { username } } } } }',
        {},
        { token: bob },
      ),
    );
    expect(frankAsBob.user).toEqual({ followers: null, following: null });
    const frank = await stack.login('frank');
    const own = ok(await stack.query('{ viewer { following { edges { node { username } } } } }', {}, { token: frank }));
    expect(own.viewer.following.edges.map((e: any) => e.node.username)).toEqual(['bob']);
  });

  it('should hold a follow of a private account as a request until its owner approves it', async () => {
    const [owner, fan, other] = [await stack.signUp('prv'), await stack.signUp('fan'), await stack.signUp('oth')];
    ok(
      await stack.query(
        'mutation { updateProfile(input: { isPrivate: true }) { isPrivate } }',
        {},
        { token: owner.token },
      ),
    );
    const requested = ok(
      await stack.query(
        'mutation F($id: ID!) { follow(userId: $id) { followedByViewer followRequestedByViewer followerCount } }',
        { id: owner.id },
        { token: fan.token },
      ),
    ).follow;
    expect(requested).toEqual({ followedByViewer: false, followRequestedByViewer: true, followerCount: 0 });

    const REQUESTS = '{ viewer { followRequests { edges { node { username followsViewer } } } } }';
    const waiting = ok(await stack.query(REQUESTS, {}, { token: owner.token })).viewer.followRequests.edges;
    expect(waiting).toEqual([{ node: { username: fan.username, followsViewer: false } }]);
    const asOther = ok(
      await stack.query(
        'query U($u: String!) { user(username: $u) { followRequests { edges { cursor } } followers { edges { cursor } } } }',
        { u: owner.username },
        { token: other.token },
      ),
    );
    expect(asOther.user).toEqual({ followRequests: null, followers: null });

    const approved = ok(
      await mutate(owner, 'approveFollowRequest(userId: $id)', '$id: ID!', { id: fan.id }),
    ).approveFollowRequest;
    expect(approved).toMatchObject({ username: fan.username, followsViewer: true, followingCount: 1 });
    expect(ok(await stack.query(REQUESTS, {}, { token: owner.token })).viewer.followRequests.edges).toEqual([]);
    const asFan = ok(
      await stack.query(
        'query U($u: String!) { user(username: $u) { followedByViewer followRequestedByViewer followerCount followers { edges { node { username } } } } }',
        { u: owner.username },
        { token: fan.token },
      ),
    );
    expect(asFan.user).toEqual({
      followedByViewer: true,
      followRequestedByViewer: false,
      followerCount: 1,
      followers: { edges: [{ node: { username: fan.username } }] },
    });

    // Answering a request that is not there is an error and changes nothing.
    expectError(await mutate(owner, 'approveFollowRequest(userId: $id)', '$id: ID!', { id: other.id }), 'NOT_FOUND');
    expectError(await mutate(owner, 'declineFollowRequest(userId: $id)', '$id: ID!', { id: fan.id }), 'NOT_FOUND');
    expect(await person(owner.username)).toMatchObject({ followerCount: 1 });
  });

  it('should let a request be declined, withdrawn or dropped by a block, and approve everyone waiting when the account goes public', async () => {
    const [owner, a, b, c] = [
      await stack.signUp('prv'),
      await stack.signUp('ra'),
      await stack.signUp('rb'),
      await stack.signUp('rc'),
    ];
    ok(
      await stack.query(
        'mutation { updateProfile(input: { isPrivate: true }) { isPrivate } }',
        {},
        { token: owner.token },
      ),
    );
    const requestsOf = async () =>
      ok(
        await stack.query('{ viewer { followRequests { edges { node { username } } } } }', {}, { token: owner.token }),
      ).viewer.followRequests.edges.map((edge: any) => edge.node.username);
    for (const who of [a, b, c]) ok(await mutate(who, 'follow(userId: $id)', '$id: ID!', { id: owner.id }));
    expect(await requestsOf()).toEqual([c.username, b.username, a.username]);

    ok(await mutate(owner, 'declineFollowRequest(userId: $id)', '$id: ID!', { id: a.id }));
    ok(await mutate(b, 'unfollow(userId: $id)', '$id: ID!', { id: owner.id }));
    expect(await requestsOf()).toEqual([c.username]);
    ok(await mutate(owner, 'block(userId: $id)', '$id: ID!', { id: c.id }));
    expect(await requestsOf()).toEqual([]);

    // Asking again is allowed after a decline or a withdrawal; going public lets everyone waiting in.
    ok(await mutate(a, 'follow(userId: $id)', '$id: ID!', { id: owner.id }));
    ok(await mutate(b, 'follow(userId: $id)', '$id: ID!', { id: owner.id }));
    ok(
      await stack.query(
        'mutation { updateProfile(input: { isPrivate: false }) { isPrivate } }',
        {},
        { token: owner.token },
      ),
    );
    expect(await person(owner.username)).toMatchObject({ followerCount: 2 });
    expect(await person(owner.username, a.token)).toMatchObject({ followedByViewer: true });
    expect(await requestsOf()).toEqual([]);
  });

  it('should make a blocker invisible to the blocked person and stop follows both ways', async () => {
    const [blocker, blocked] = [await stack.signUp('blk'), await stack.signUp('bld')];
    ok(await mutate(blocked, 'follow(userId: $id)', '$id: ID!', { id: blocker.id }));
    ok(await mutate(blocker, 'follow(userId: $id)', '$id: ID!', { id: blocked.id }));
    const block = ok(await mutate(blocker, 'block(userId: $id)', '$id: ID!', { id: blocked.id })).block;
    expect(block).toMatchObject({
      blockedByViewer: true,
      followedByViewer: false,
      followsViewer: false,
      followerCount: 0,
    });

    expect(await person(blocker.username, blocked.token)).toBeNull();
    // For the blocked person the blocker does not exist: acting on them is NOT_FOUND, with nothing of theirs shown.
    for (const action of [
      'follow(userId: $id)',
      'unfollow(userId: $id)',
      'block(userId: $id)',
      'unblock(userId: $id)',
      'approveFollowRequest(userId: $id)',
    ]) {
      const result = await mutate(blocked, action, '$id: ID!', { id: blocker.id });
      expectError(result, 'NOT_FOUND');
      expect(result.data ?? null).toBeNull();
    }
    expectError(
      await mutate(blocked, 'setCloseFriend(userId: $id, closeFriend: true)', '$id: ID!', { id: blocker.id }),
      'NOT_FOUND',
    );
    expectError(await mutate(blocker, 'follow(userId: $id)', '$id: ID!', { id: blocked.id }), 'FORBIDDEN');
    expect(await person(blocker.username)).toMatchObject({ followerCount: 0, followingCount: 0 });

    ok(await mutate(blocker, 'unblock(userId: $id)', '$id: ID!', { id: blocked.id }));
    expect(await person(blocker.username, blocked.token)).not.toBeNull();
  });

  it('should give coded errors for bad relationship input and change nothing', async () => {
    const user = await stack.signUp('bad');
    expectError(await mutate(user, 'follow(userId: $id)', '$id: ID!', { id: 'not-an-id' }), 'BAD_USER_INPUT', 'userId');
    expectError(await mutate(user, 'follow(userId: $id)', '$id: ID!', { id: '999999999' }), 'NOT_FOUND');
    expectError(await mutate(user, 'follow(userId: $id)', '$id: ID!', { id: user.id }), 'BAD_USER_INPUT', 'userId');
    expectError(await stack.query('mutation { follow(userId: "1") { id } }'), 'UNAUTHENTICATED');
    expect(await person(user.username)).toMatchObject({ followingCount: 0 });
  });
});

describe('close friends and status', () => {
  it('should show a status only to the owner and the people on their close friends list', async () => {
    const [owner, friend, stranger] = [await stack.signUp('own'), await stack.signUp('frd'), await stack.signUp('str')];
    const set = ok(
      await stack.query(
        'mutation { setStatus(input: { emoji: "🎧", text: "Deep work", expiresInSeconds: 3600 }) { status { emoji text kind expiresAt } } }',
        {},
        { token: owner.token },
      ),
    ).setStatus.status;
    expect(set).toMatchObject({ emoji: '🎧', text: 'Deep work', kind: 'MANUAL' });
    expect(Date.parse(set.expiresAt)).toBeGreaterThan(Date.now());

    expect((await person(owner.username, friend.token)).status).toBeNull();
    const added = ok(
      await mutate(owner, 'setCloseFriend(userId: $id, closeFriend: true)', '$id: ID!', { id: friend.id }),
    ).setCloseFriend;
    expect(added.isCloseFriend).toBe(true);
    expect((await person(owner.username, friend.token)).status).toMatchObject({ text: 'Deep work' });
    expect((await person(owner.username, stranger.token)).status).toBeNull();
    expect((await person(owner.username)).status).toBeNull();

    const list = ok(
      await stack.query('{ viewer { closeFriends { edges { node { username } } } } }', {}, { token: owner.token }),
    );
    expect(list.viewer.closeFriends.edges.map((e: any) => e.node.username)).toEqual([friend.username]);
    const others = ok(
      await stack.query(
        `{ user(username: "${owner.username}") { closeFriends { edges { cursor } } autoStatusEnabled } }`,
        {},
        { token: friend.token },
      ),
    );
    expect(others.user).toEqual({ closeFriends: null, autoStatusEnabled: null });

    ok(await mutate(owner, 'setCloseFriend(userId: $id, closeFriend: false)', '$id: ID!', { id: friend.id }));
    expect((await person(owner.username, friend.token)).status).toBeNull();
  });

  it('should set an automatic status from reported activity only when auto-status is on', async () => {
    const user = await stack.signUp('auto');
    expectError(
      await stack.query('mutation { reportActivity(activity: AT_A_CAFE) { id } }', {}, { token: user.token }),
      'BAD_USER_INPUT',
      'activity',
    );
    ok(await stack.query('mutation { setAutoStatus(enabled: true) { autoStatusEnabled } }', {}, { token: user.token }));
    const auto = ok(
      await stack.query(
        'mutation { reportActivity(activity: AT_A_CAFE) { status { emoji text kind activity } } }',
        {},
        { token: user.token },
      ),
    );
    expect(auto.reportActivity.status).toEqual({ emoji: '☕', text: 'At a café', kind: 'AUTO', activity: 'AT_A_CAFE' });

    // A manual status wins over auto-status until it is cleared.
    ok(
      await stack.query(
        'mutation { setStatus(input: { emoji: "📚", text: "Reading" }) { id } }',
        {},
        { token: user.token },
      ),
    );
    const kept = ok(
      await stack.query(
        'mutation { reportActivity(activity: AT_THE_GYM) { status { text kind } } }',
        {},
        { token: user.token },
      ),
    );
    expect(kept.reportActivity.status).toEqual({ text: 'Reading', kind: 'MANUAL' });

    ok(await stack.query('mutation { clearStatus { id } }', {}, { token: user.token }));
    const cleared = ok(
      await stack.query(
        'mutation { reportActivity(activity: AT_HOME) { status { text } } }',
        {},
        { token: user.token },
      ),
    );
    expect(cleared.reportActivity.status).toEqual({ text: 'At home' });
    const off = ok(
      await stack.query(
        'mutation { setAutoStatus(enabled: false) { autoStatusEnabled status { text } } }',
        {},
        { token: user.token },
      ),
    );
    expect(off.setAutoStatus).toEqual({ autoStatusEnabled: false, status: null });
  });

  it('should refuse invalid statuses and keep the old one', async () => {
    const user = await stack.signUp('inv');
    ok(
      await stack.query(
        'mutation { setStatus(input: { emoji: "🌱", text: "Gardening" }) { id } }',
        {},
        { token: user.token },
      ),
    );
    expectError(
      await stack.query(
        'mutation { setStatus(input: { emoji: "🌱", text: "   " }) { id } }',
        {},
        { token: user.token },
      ),
      'BAD_USER_INPUT',
      'input.text',
    );
    expectError(
      await stack.query(
        'mutation { setStatus(input: { emoji: "🌱", text: "ok", expiresInSeconds: 5 }) { id } }',
        {},
        { token: user.token },
      ),
      'BAD_USER_INPUT',
      'input.expiresInSeconds',
    );
    const status = ok(await stack.query('{ viewer { status { text } } }', {}, { token: user.token }));
    expect(status.viewer.status).toEqual({ text: 'Gardening' });
  });
});
