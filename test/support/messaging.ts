// Helpers for the Messaging spec files: people, sends, inbox pages and conversations through the gateway, and the
// documents of the conversation mutations.
import { expect } from 'vitest';
import { ok, type GraphQLResponse, type TestStack, type TestUser } from './harness.js';

interface MessageNode {
  id: string;
  text: string;
  source: 'INSTAGRAM' | 'THREADS';
  unsent: boolean;
  sender: { id: string; username: string };
  reactions: { emoji: string; user: { username: string } }[];
  seenBy: { username: string }[];
}

interface ConversationNode {
  id: string;
  folder: 'PRIMARY' | 'GENERAL' | 'REQUESTS';
  unreadCount: number;
  participants: { id: string; username: string }[];
  lastMessage: { id: string; text: string } | null;
}

const MESSAGE_FIELDS = `id text source unsent sender { id username } reactions { emoji user { username } } seenBy { username }`;
const CONVERSATION_FIELDS = `id folder unreadCount participants { id username } lastMessage { id text }`;

export const ACCEPT = `#graphql
  mutation Accept($id: ID!) { acceptMessageRequest(conversationId: $id) { id folder } }`;
export const DECLINE = `#graphql
  mutation Decline($id: ID!) { declineMessageRequest(conversationId: $id) }`;
export const MOVE = `#graphql
  mutation Move($id: ID!, $folder: InboxFolder!) { moveConversation(conversationId: $id, folder: $folder) { id folder } }`;
export const MARK_SEEN = `#graphql
  mutation Seen($id: ID!) { markConversationSeen(conversationId: $id) { id unreadCount } }`;
export const REACT = `#graphql
  mutation React($id: ID!, $emoji: String) { reactToMessage(messageId: $id, emoji: $emoji) { id reactions { emoji user { username } } } }`;
export const UNSEND = `#graphql
  mutation Unsend($id: ID!) { unsendMessage(messageId: $id) { id text unsent } }`;

/** The helpers bound to the stack a spec file started (`stackOf` is read at call time, after `beforeAll`). */
export function messagingHelpers(stackOf: () => TestStack) {
  /**
   * A fresh person who has opened their inbox once. Messaging cannot read Instagram's accounts, so an account becomes
   * reachable once the gateway has vouched for it (or Instagram's relationships stream mentioned it).
   */
  async function person(prefix = 'dm'): Promise<TestUser> {
    return stackOf().signUp(prefix);
  }

  async function send(
    from: TestUser,
    to: TestUser | string,
    text: string,
    extra: { source?: 'INSTAGRAM' | 'THREADS'; idempotencyKey?: string } = {},
  ): Promise<GraphQLResponse<{ sendDirectMessage: { message: MessageNode; conversation: ConversationNode } }>> {
    return stackOf().query(
      `#graphql
        mutation Send($input: SendDirectMessageInput!) {
          sendDirectMessage(input: $input) {
            message { ${MESSAGE_FIELDS} }
            conversation { ${CONVERSATION_FIELDS} }
          }
        }`,
      { input: { recipientId: typeof to === 'string' ? to : to.id, text, ...extra } },
      { token: from.token },
    );
  }

  async function sent(from: TestUser, to: TestUser, text: string, extra: Parameters<typeof send>[3] = {}) {
    return ok(await send(from, to, text, extra)).sendDirectMessage;
  }

  async function inbox(user: TestUser, folder = 'PRIMARY', first?: number, after?: string) {
    const result = await stackOf().query<{
      inbox: {
        edges: { cursor: string; node: ConversationNode }[];
        pageInfo: { hasNextPage: boolean; endCursor: string | null };
      };
    }>(
      `#graphql
        query Inbox($folder: InboxFolder, $first: Int, $after: String) {
          inbox(folder: $folder, first: $first, after: $after) {
            edges { cursor node { ${CONVERSATION_FIELDS} } }
            pageInfo { hasNextPage endCursor }
          }
        }`,
      { folder, first, after },
      { token: user.token },
    );
    return ok(result).inbox;
  }

  const inboxIds = async (user: TestUser, folder = 'PRIMARY') =>
    (await inbox(user, folder, 100)).edges.map((edge) => edge.node.id);

  async function conversation(user: TestUser | undefined, id: string, last?: number, before?: string) {
    const result = await stackOf().query<{
      conversation:
        | (ConversationNode & {
            messages: {
              edges: { cursor: string; node: MessageNode }[];
              pageInfo: {
                hasPreviousPage: boolean;
                hasNextPage: boolean;
                startCursor: string | null;
                endCursor: string | null;
              };
            };
          })
        | null;
    }>(
      `#graphql
        query Conversation($id: ID!, $last: Int, $before: String) {
          conversation(id: $id) {
            ${CONVERSATION_FIELDS}
            messages(last: $last, before: $before) {
              edges { cursor node { ${MESSAGE_FIELDS} } }
              pageInfo { hasPreviousPage hasNextPage startCursor endCursor }
            }
          }
        }`,
      { id, last, before },
      { token: user?.token },
    );
    return ok(result).conversation;
  }

  async function mutate(user: TestUser, document: string, variables: Record<string, unknown>) {
    return stackOf().query(document, variables, { token: user.token });
  }

  return { person, send, sent, inbox, inboxIds, conversation, mutate };
}

/**
 * The SQL statements all subgraphs run for one inbox page of `first` conversations, read with `page` (a query taking
 * `$first`) as `viewer`; the page must come back full.
 */
export async function inboxPageStatements(stack: TestStack, viewer: TestUser, page: string, first: number) {
  const before = stack.sqlStatements();
  const data = ok(await stack.query(page, { first }, { token: viewer.token })) as { inbox: { edges: unknown[] } };
  expect(data.inbox.edges).toHaveLength(first);
  return stack.sqlStatements() - before;
}
