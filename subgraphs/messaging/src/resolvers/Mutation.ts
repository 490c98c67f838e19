// Resolvers of Messaging's mutations: each checks its arguments and calls the domain module that owns the change.
import {
  badUserInput,
  codedError,
  ErrorCode,
  forbidden,
  isUniqueViolation,
  notFound,
  parseId,
  requireViewer,
  unauthenticated,
} from '@igt/common';
import type { MutationResolvers } from '../generated/resolvers-types.js';
import type { Context } from '../context.js';
import type { ConversationModel, MessageModel, SendDirectMessagePayloadModel } from '../models.js';
import { reloadConversation, viewersConversation, viewersMessage } from '../access.js';
import { canMessage, refusalWithoutLookup, type MessageRefusal } from '../canMessage.js';
import {
  acceptMessageRequest,
  declineMessageRequest,
  markConversationSeen,
  moveConversation,
} from '../conversationSides.js';
import {
  addGroupMembers,
  createGroup,
  leaveGroup,
  removeGroupMember,
  renameGroup,
  sendToGroup,
  validateGroupTitle,
  validateNewcomers,
} from '../groups.js';
import { findByIdempotencyKey, sendMessage, type Delivery, type MessageSource } from '../mailbox.js';
import { setReaction, unsendMessage, validateEmoji } from '../messageChanges.js';
import { publishDelivery } from '../directMessages.js';

/** Longest message, in characters (code points, as Postgres counts them). */
const MAX_MESSAGE_LENGTH = 1000;
/** Longest idempotency key a client may choose. */
const MAX_IDEMPOTENCY_KEY_LENGTH = 100;

function validateText(text: string): string {
  const length = [...text].length;
  if (length > MAX_MESSAGE_LENGTH) {
    throw codedError(
      ErrorCode.MessageTooLong,
      `\`text\` must be at most ${MAX_MESSAGE_LENGTH} characters, got ${length}.`,
      {
        argument: 'input.text',
        maxLength: MAX_MESSAGE_LENGTH,
      },
    );
  }
  if (!text.trim()) throw badUserInput('`text` must not be empty or only whitespace.', 'input.text');
  return text;
}

function validateIdempotencyKey(key: string | null | undefined): string | null {
  if (key === null || key === undefined) return null;
  if (key.length < 1 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw badUserInput(
      `\`idempotencyKey\` must be 1–${MAX_IDEMPOTENCY_KEY_LENGTH} characters, got ${key.length}.`,
      'input.idempotencyKey',
    );
  }
  return key;
}

/** Where a send goes: to a person (their one-to-one conversation with the sender), or into a conversation by id. */
type SendTarget = { recipientId: number } | { conversationId: number };

/** Whether `conversation` is where a send to `target` goes. */
function goesTo(conversation: ConversationModel, target: SendTarget): boolean {
  if ('conversationId' in target) return conversation.id === target.conversationId;
  return conversation.userLowId === target.recipientId || conversation.userHighId === target.recipientId;
}

/** Answers a retried send with the first message, provided the key was first used for a send to the same place. */
async function replayFirstSend(
  context: Context,
  first: MessageModel,
  target: SendTarget,
): Promise<SendDirectMessagePayloadModel> {
  const conversation = await reloadConversation(context, first.conversationId);
  if (!goesTo(conversation, target)) {
    throw codedError(ErrorCode.Conflict, 'This `idempotencyKey` was already used for a message sent elsewhere.', {
      argument: 'input.idempotencyKey',
    });
  }
  context.loaders.messageById.prime(first.id, first);
  return { message: first, conversation };
}

/** A send that failed with `error`: a retry of one that went through answers with the first message instead. */
async function replayOrFail(
  context: Context,
  senderId: number,
  idempotencyKey: string | null,
  target: SendTarget,
  error: unknown,
): Promise<SendDirectMessagePayloadModel> {
  const first = idempotencyKey === null ? null : await findByIdempotencyKey(context.db, senderId, idempotencyKey);
  if (first) return replayFirstSend(context, first, target);
  throw error;
}

/** Answers a send: a retry with the first message, a new message (already announced) as stored. */
async function answerDelivery(
  context: Context,
  delivery: Delivery,
  target: SendTarget,
): Promise<SendDirectMessagePayloadModel> {
  if (delivery.kind === 'duplicate') return replayFirstSend(context, delivery.message, target);
  const { message, conversation } = delivery;
  context.loaders.messageById.prime(message.id, message);
  context.loaders.conversationById.prime(conversation.id, conversation);
  return { message, conversation };
}

/**
 * Sends a message to a person, into their one-to-one conversation with the sender (opened by the first one): what
 * sendDirectMessage does, and sendMessage for a one-to-one conversation. It asks canMessage (which catches up with
 * Instagram's follows and blocks first) and is throttled, idempotent by key, and committed before it is announced.
 */
async function sendToPerson(
  context: Context,
  senderId: number,
  recipientId: number,
  input: { text: string; source: MessageSource; idempotencyKey: string | null },
): Promise<SendDirectMessagePayloadModel> {
  const { text, source, idempotencyKey } = input;
  const target = { recipientId };
  await context.sendThrottle.admit(senderId, context.clientAddress);

  // A follow or block Instagram has acknowledged must count for this very send: canMessage catches up strictly,
  // which also brings the follows that decide the first message's folder (firstMessageFolder.ts) up to date.
  // Whatever stops a send (a refusal, a stream that cannot be read), a retry of one that went through answers with
  // the first message, as it would have before anything changed; the key is only looked up on that path.
  try {
    const permission = (await canMessage(context, senderId, [recipientId])).get(recipientId);
    if (!permission) throw new Error(`canMessage gave no answer for recipient ${recipientId}.`);
    if (!permission.allowed) throw refusedSend(permission.reason, String(recipientId));
  } catch (error) {
    return replayOrFail(context, senderId, idempotencyKey, target, error);
  }
  await context.knownUsers.remember([senderId]);

  let delivery;
  try {
    delivery = await sendMessage(context.db, { senderId, recipientId, text, source, idempotencyKey });
  } catch (error) {
    // Two sends with one key at the same moment: the unique index lets only the first one in.
    if (!isUniqueViolation(error)) throw error;
    return replayOrFail(context, senderId, idempotencyKey, target, error);
  }
  // Committed first, announced second: a subscriber that misses the announcement replays it from the database.
  if (delivery.kind === 'delivered') await publishDelivery(context.pubsub, delivery, context.logger);
  return answerDelivery(context, delivery, target);
}

/** What a send answers when canMessage refuses: the codes of the contract (see MessageRefusal). */
function refusedSend(reason: MessageRefusal, recipientId: string): Error {
  switch (reason) {
    case 'SIGN_IN_REQUIRED':
      return unauthenticated();
    case 'SELF':
      return badUserInput('You cannot send a message to yourself.', 'input.recipientId');
    // Someone who blocked the sender does not exist for them (hiddenFrom.ts): the same answer as for no one at all.
    case 'NO_SUCH_USER':
    case 'HIDDEN':
      return notFound(`No user has id ${recipientId}.`);
    case 'RECIPIENT_BLOCKED':
      return codedError(ErrorCode.RecipientBlocked, 'You have blocked this person: unblock them to send a message.', {
        argument: 'input.recipientId',
      });
  }
}

/**
 * Messaging's mutations. A send asks canMessage (which catches up with Instagram's follows and blocks first), is
 * idempotent by key, and is committed before it is announced, so a subscriber that misses the announcement replays it.
 */
export const Mutation: MutationResolvers = {
  async sendDirectMessage(_parent, { input }, context) {
    const senderId = requireViewer(context);
    const recipientId = parseId(input.recipientId, 'input.recipientId');
    // Refused before it counts against the sending limits.
    const obvious = refusalWithoutLookup(senderId, recipientId);
    if (obvious) throw refusedSend(obvious, input.recipientId);
    const text = validateText(input.text);
    const idempotencyKey = validateIdempotencyKey(input.idempotencyKey);
    return sendToPerson(context, senderId, recipientId, { text, source: input.source ?? 'INSTAGRAM', idempotencyKey });
  },

  async sendMessage(_parent, { input }, context) {
    const senderId = requireViewer(context);
    const conversation = await viewersConversation(context, input.conversationId);
    const text = validateText(input.text);
    const idempotencyKey = validateIdempotencyKey(input.idempotencyKey);
    if (conversation.kind === 'DIRECT') {
      const recipientId = conversation.userLowId === senderId ? conversation.userHighId! : conversation.userLowId!;
      return sendToPerson(context, senderId, recipientId, { text, source: 'INSTAGRAM', idempotencyKey });
    }
    const target = { conversationId: conversation.id };
    let delivery;
    // Whatever stops a send (having left, a limit, a stream that cannot be read, a concurrent send with the same
    // key), a retry of one that went through answers with the first message, as for a one-to-one send.
    try {
      // Refused before it counts against the sending limits; checked again under the group's lock.
      if (conversation.side.leftAt !== null) throw forbidden('You are no longer a member of this group.');
      await context.sendThrottle.admit(senderId, context.clientAddress);
      // A group send reaches nobody the sender has blocked: a block Instagram has acknowledged counts at once.
      await context.relationships.catchUp();
      delivery = await sendToGroup(context, conversation, { senderId, text, idempotencyKey });
    } catch (error) {
      return replayOrFail(context, senderId, idempotencyKey, target, error);
    }
    // sendToGroup announced it with each member's event.
    return answerDelivery(context, delivery, target);
  },

  async createGroup(_parent, { input }, context) {
    const creatorId = requireViewer(context);
    const memberIds = validateNewcomers(
      input.memberIds.map((id) => parseId(id, 'input.memberIds')),
      creatorId,
      'input.memberIds',
    );
    const title =
      input.title === null || input.title === undefined ? null : validateGroupTitle(input.title, 'input.title');
    const idempotencyKey = validateIdempotencyKey(input.idempotencyKey);
    await context.knownUsers.remember([creatorId]);
    const conversation = await createGroup(context, { creatorId, memberIds, title, idempotencyKey });
    context.loaders.conversationById.prime(conversation.id, conversation);
    return conversation;
  },

  async renameGroup(_parent, { conversationId, title }, context) {
    const viewerId = requireViewer(context);
    const conversation = await viewersConversation(context, conversationId);
    await renameGroup(context, conversation, viewerId, validateGroupTitle(title, 'title'));
    return reloadConversation(context, conversation.id);
  },

  async addGroupMembers(_parent, { conversationId, memberIds }, context) {
    const viewerId = requireViewer(context);
    const conversation = await viewersConversation(context, conversationId);
    const newcomers = validateNewcomers(
      memberIds.map((id) => parseId(id, 'memberIds')),
      viewerId,
      'memberIds',
    );
    await addGroupMembers(context, conversation, viewerId, newcomers);
    return reloadConversation(context, conversation.id);
  },

  async removeGroupMember(_parent, { conversationId, memberId }, context) {
    const viewerId = requireViewer(context);
    const conversation = await viewersConversation(context, conversationId);
    await removeGroupMember(context, conversation, viewerId, parseId(memberId, 'memberId'));
    return reloadConversation(context, conversation.id);
  },

  async leaveGroup(_parent, { conversationId }, context) {
    const viewerId = requireViewer(context);
    const conversation = await viewersConversation(context, conversationId);
    await leaveGroup(context, conversation, viewerId);
    return reloadConversation(context, conversation.id);
  },

  async markConversationSeen(_parent, { conversationId }, context) {
    const conversation = await viewersConversation(context, conversationId);
    await markConversationSeen(context, conversation);
    return reloadConversation(context, conversation.id);
  },

  async reactToMessage(_parent, { messageId, emoji }, context) {
    const viewerId = requireViewer(context);
    const value = emoji === null || emoji === undefined ? null : validateEmoji(emoji);
    const message = await viewersMessage(context, messageId);
    await setReaction(context, viewerId, message, value);
    context.loaders.reactionsByMessageId.clear(message.id);
    return message;
  },

  async unsendMessage(_parent, { messageId }, context) {
    const viewerId = requireViewer(context);
    const message = await viewersMessage(context, messageId);
    const unsent = await unsendMessage(context, viewerId, message);
    context.loaders.messageById.clear(message.id).prime(message.id, unsent);
    context.loaders.reactionsByMessageId.clear(message.id);
    return unsent;
  },

  setTyping: (_parent, { conversationId, typing }, context) =>
    context.typingIndicators.announce(context, conversationId, typing),

  async moveConversation(_parent, { conversationId, folder }, context) {
    const conversation = await viewersConversation(context, conversationId);
    await moveConversation(context, conversation, folder);
    return reloadConversation(context, conversation.id);
  },

  async acceptMessageRequest(_parent, { conversationId }, context) {
    const conversation = await viewersConversation(context, conversationId);
    if (!(await acceptMessageRequest(context, conversation))) return conversation;
    return reloadConversation(context, conversation.id);
  },

  async declineMessageRequest(_parent, { conversationId }, context) {
    const conversation = await viewersConversation(context, conversationId);
    await declineMessageRequest(context, conversation);
    context.loaders.conversationById.clear(conversation.id);
    return String(conversation.id);
  },
};
