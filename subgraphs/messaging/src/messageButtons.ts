// Messaging's part of the Message button (Profile.messageAction): whether the viewer may use it, and its conversation.
import DataLoader from 'dataloader';
import { tryParseId } from '@igt/common';
import { canMessage, type CanMessageServices } from './canMessage.js';
import type { KnownUsers } from './knownUsers.js';
import type { Loaders } from './loaders.js';
import type { MessageActionModel } from './models.js';

/** What the buttons of one request need: canMessage's services, the request's loaders, and the viewer. */
export interface MessageButtonServices extends CanMessageServices {
  loaders: Pick<Loaders, 'blocksWithViewer' | 'conversationWith'>;
  knownUsers: Pick<KnownUsers, 'existing' | 'remember'>;
  viewerId: number | null;
}

/** The Message buttons of one request, by recipient id as the gateway sends it. */
export type MessageButtons = DataLoader<string, MessageActionModel | null>;

/**
 * Batches the Message buttons of one request (a page of profiles is one batch) and answers them with one canMessage
 * call. `services` is read when a batch runs, so a context that renews its loaders hands the new ones over. Null for
 * an id that cannot name anyone.
 */
export function createMessageButtons(services: () => MessageButtonServices): MessageButtons {
  return new DataLoader<string, MessageActionModel | null>(async (keys) => {
    const { loaders, knownUsers, viewerId } = services();
    const recipientIds = keys.map((key) => tryParseId(key));
    const valid = recipientIds.filter((id): id is number => id !== null);
    // Only the gateway's query plans send representations (here: Threads resolved these profiles), so each
    // recipient is a real account; remembering it lets the button's own mutation reach them.
    await knownUsers.remember(valid);
    // Anonymous viewers have no conversations, and nobody has one with themselves.
    const others = viewerId === null ? [] : valid.filter((id) => id !== viewerId);
    const [permissions, conversations] = await Promise.all([
      canMessage(services(), viewerId, valid),
      loaders.conversationWith.loadMany(others),
    ]);
    const conversationWith = new Map(
      others.map((id, index) => {
        const conversation = conversations[index];
        if (conversation instanceof Error) throw conversation;
        return [id, conversation ?? null] as const;
      }),
    );
    return recipientIds.map((id): MessageActionModel | null => {
      if (id === null) return null;
      const permission = permissions.get(id);
      if (!permission) throw new Error(`canMessage gave no answer for recipient ${id}.`);
      const conversation = conversationWith.get(id) ?? null;
      if (permission.allowed) return { recipientId: String(id), enabled: true, disabledReason: null, conversation };
      switch (permission.reason) {
        case 'SIGN_IN_REQUIRED':
        case 'SELF':
          return { recipientId: String(id), enabled: false, disabledReason: permission.reason, conversation };
        case 'HIDDEN':
        case 'RECIPIENT_BLOCKED':
          return { recipientId: String(id), enabled: false, disabledReason: 'BLOCKED', conversation };
        case 'NO_SUCH_USER':
          // Cannot happen after remembering them above; a button for nobody is no button.
          return null;
      }
    });
  });
}
