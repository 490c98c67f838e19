// GraphQL documents more than one test file sends: sign-in, sign-up, the social graph, Threads posting, DMs.

/** Signs in; variables `username`, `password`. */
export const LOGIN = `#graphql
  mutation Login($username: String!, $password: String!) { login(username: $username, password: $password) { token } }`;

/** Creates an account; variables `username`, `password`, `fullName`. */
export const SIGN_UP = `#graphql
  mutation SignUp($username: String!, $password: String!, $fullName: String!) {
    signUp(username: $username, password: $password, fullName: $fullName) { token user { id } }
  }`;

/** Follows someone on Instagram; variable `userId`. */
export const FOLLOW = `#graphql
  mutation Follow($userId: ID!) { follow(userId: $userId) { id } }`;

/** Stops following someone on Instagram; variable `userId`. */
export const UNFOLLOW = `#graphql
  mutation Unfollow($userId: ID!) { unfollow(userId: $userId) { id } }`;

/** Blocks someone on Instagram; variable `userId`. */
export const BLOCK = `#graphql
  mutation Block($userId: ID!) { block(userId: $userId) { id } }`;

/** Lifts a block; variable `userId`. */
export const UNBLOCK = `#graphql
  mutation Unblock($userId: ID!) { unblock(userId: $userId) { id } }`;

/** Makes the viewer's Threads profile from their Instagram account; no variables. */
export const JOIN_THREADS = `#graphql
  mutation JoinThreads { joinThreads { id } }`;

/** Posts a thread, or a reply when `replyToId` is given; variables `text`, `replyToId`. */
export const POST_THREAD = `#graphql
  mutation PostThread($text: String!, $replyToId: ID) { postThread(text: $text, replyToId: $replyToId) { id } }`;

/** Sends a DM; variable `input` (a SendDirectMessageInput). */
export const SEND_DM = `#graphql
  mutation Send($input: SendDirectMessageInput!) { sendDirectMessage(input: $input) { message { id text } conversation { id } } }`;

/** The README's live-DM subscription, with a field from every subgraph; variable `after` (resume after this id). */
export const NEW_MESSAGES = `#graphql
  subscription NewMessages($after: ID) {
    directMessageReceived(after: $after) {
      id text source
      sender { id username fullName threadsProfile { username } }
      conversation { id }
    }
  }`;
