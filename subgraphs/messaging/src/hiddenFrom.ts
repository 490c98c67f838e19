// Messaging's rule "a person who has blocked the viewer is hidden from the viewer", in one place.
import type { SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { notBlockedBy, type Db, type Logger } from '@igt/common';
import * as schema from './db/schema.js';
import type { Loaders } from './loaders.js';
import type { ConversationModel, MessageModel, UserReference } from './models.js';
import type { RelationshipProjection } from './relationshipProjection.js';

const { blocks } = schema;

/*
 * The rule, as Messaging applies it, from its own projection of Instagram's blocks. Someone who has blocked the viewer
 * is not shown to the viewer anywhere in the inbox:
 * - a conversation with them stays in the viewer's inbox (the viewer's own messages are theirs to keep), but its
 *   `participants` list only the viewer;
 * - the messages they sent, even before the block, are left out of the history, `lastMessage`, the unread count,
 *   lookups by id (so `_entities`, reactions and unsend too) and the replay of `directMessageReceived`: each would
 *   need `sender: User!`, which Instagram no longer resolves for the viewer;
 * - their reactions and "seen" marks are left out of `reactions` and `seenBy`.
 * It is one-way: the blocker still sees everything. Nobody can block an anonymous viewer, and anonymous viewers have
 * no inbox anyway.
 */

/**
 * SQL condition over rows whose `person` column names a user: that user has not blocked the viewer. Undefined (no
 * condition) for anonymous viewers.
 */
export const visibleTo = (db: Db<typeof schema>, person: AnyPgColumn, viewerId: number | null): SQL | undefined =>
  notBlockedBy(db, blocks, person, viewerId);

/**
 * Brings the blocks projection up to date before a read that applies the rule, at most once per request. Best effort:
 * when the relationships stream cannot be read, reads go ahead on the projection as it stands (canMessage, which
 * must not, catches up strictly on its own), so the inbox stays readable while Redis is away.
 */
export function catchUpForReads(relationships: RelationshipProjection, logger: Logger): () => Promise<void> {
  let caughtUp: Promise<void> | undefined;
  return () =>
    (caughtUp ??= relationships.catchUp().catch((error: unknown) => {
      logger.warn({ err: error }, 'reading with the blocks known so far: the relationships stream cannot be read');
    }));
}

/**
 * The members of a conversation the viewer may see: the viewer (while a member), and everyone else unless they
 * blocked the viewer.
 */
export async function visibleParticipants(conversation: ConversationModel, loaders: Loaders): Promise<UserReference[]> {
  const viewerId = conversation.side.userId;
  const members = await loaders.membersByConversationId.load(conversation.id);
  const hidden = await loaders.hasBlockedViewer.loadMany(members);
  return members.filter((id, index) => id === viewerId || hidden[index] === false).map((id) => ({ id: String(id) }));
}

/**
 * The newest message of a conversation the viewer may see. Usually the one whose id the viewer's side holds; when
 * that one is hidden (its sender has blocked the viewer, or it is outside the viewer's membership window) or is no
 * message (a group's activity: conversationChanges.ts `reserveActivityId`), the newest of the rest.
 */
export async function lastVisibleMessage(
  conversation: ConversationModel,
  loaders: Loaders,
): Promise<MessageModel | null> {
  const { lastMessageId } = conversation.side;
  if (lastMessageId === null) return null;
  const newest = await loaders.messageById.load(lastMessageId);
  if (newest) return newest;
  const [visible] = await loaders.messagePage.load({ conversationId: conversation.id, size: 1, before: null });
  return visible ?? null;
}
