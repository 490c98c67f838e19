/** Resolvers of the InboxEvent interface and its implementations: one row of the viewer's event log each. */
import type { Resolvers } from '../generated/resolvers-types.js';
import type { Context } from '../context.js';
import type { InboxEventModel } from '../models.js';
import type * as schema from '../db/schema.js';

type EventKind = (typeof schema.INBOX_EVENT_KINDS)[number];

/** The GraphQL type of each kind of stored event. */
const TYPE_OF_KIND = {
  MESSAGE_SENT: 'MessageSentEvent',
  REACTION_CHANGED: 'ReactionChangedEvent',
  CONVERSATION_SEEN: 'ConversationSeenEvent',
  MESSAGE_UNSENT: 'MessageUnsentEvent',
  CONVERSATION_FILED: 'ConversationFiledEvent',
  MEMBERS_ADDED: 'MembersAddedEvent',
  MEMBER_REMOVED: 'MemberRemovedEvent',
  GROUP_RENAMED: 'GroupRenamedEvent',
} as const satisfies Record<EventKind, string>;

/** A detail column the kind always fills (inboxEvents.ts records them so), or an error naming the event. */
function detail<K extends keyof InboxEventModel>(event: InboxEventModel, key: K): NonNullable<InboxEventModel[K]> {
  const value = event[key];
  if (value === null || value === undefined) throw new Error(`Inbox event ${event.id} (${event.kind}) has no ${key}.`);
  return value;
}

/** The fields every event has. The event is in the viewer's own log, so its conversation has the viewer's side. */
const common = {
  position: (event: InboxEventModel) => String(event.id),
  async conversation(event: InboxEventModel, _args: unknown, { loaders }: Context) {
    const conversation = await loaders.conversationById.load(event.conversationId);
    if (!conversation) throw new Error(`Inbox event ${event.id} was resolved for someone outside its conversation.`);
    return conversation;
  },
  actor: (event: InboxEventModel) => ({ id: String(event.actorId) }),
  at: (event: InboxEventModel) => event.at.toISOString(),
};

/**
 * The event's message. The log leaves out events whose message the viewer may not see (inboxEvents.ts), so a message
 * that does not load is a broken invariant, not something to hide.
 */
async function message(event: InboxEventModel, _args: unknown, { loaders }: Context) {
  const found = await loaders.messageById.load(detail(event, 'messageId'));
  if (!found) throw new Error(`Inbox event ${event.id} names a message the viewer cannot see.`);
  return found;
}

/** Every InboxEvent resolver. */
export const inboxEventResolvers: Resolvers = {
  InboxEvent: { __resolveType: (event) => TYPE_OF_KIND[event.kind] },
  MessageSentEvent: { ...common, message },
  ReactionChangedEvent: { ...common, message, emoji: (event) => event.emoji },
  ConversationSeenEvent: {
    ...common,
    lastSeenMessage: (event, _args, { loaders }) =>
      event.messageId === null ? null : loaders.messageById.load(event.messageId),
  },
  MessageUnsentEvent: { ...common, message },
  ConversationFiledEvent: {
    ...common,
    change: (event) => detail(event, 'filing'),
    folder: (event) => detail(event, 'folder'),
  },
  MembersAddedEvent: {
    ...common,
    // Someone who has blocked the viewer is hidden from them here too (hiddenFrom.ts).
    async members(event, _args, { loaders }) {
      const ids = detail(event, 'memberIds');
      const hidden = await loaders.hasBlockedViewer.loadMany(ids);
      return ids.filter((_id, index) => hidden[index] === false).map((id) => ({ id: String(id) }));
    },
  },
  MemberRemovedEvent: { ...common, member: (event) => ({ id: String(detail(event, 'memberIds')[0]) }) },
  GroupRenamedEvent: { ...common, title: (event) => detail(event, 'title') },
};
