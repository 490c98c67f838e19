/** What Threads' resolvers receive as parents (the models codegen.json maps types to), and its Message button half. */
import type { Connection } from '@igt/common';
import type { profiles, threads } from './db/schema.js';

/** A Profile as resolvers receive it: the stored row. */
export type ProfileModel = typeof profiles.$inferSelect;
/** A Thread as resolvers receive it: the stored row, counters included. */
export type ThreadModel = typeof threads.$inferSelect;
/** A page of threads, as list fields return it. */
export type ThreadConnectionModel = Connection<ThreadModel>;
/** One thread of a page, with its cursor. */
export type ThreadEdgeModel = ThreadConnectionModel['edges'][number];

/** An Instagram account as Threads knows it: only its key. Instagram resolves every other field. */
export interface UserReference {
  id: string | number;
}

/** The Threads part of a profile's Message button; Messaging adds `enabled`, `disabledReason` and `conversation`. */
export interface MessageActionModel {
  recipient: UserReference;
  label: string;
  mutation: string;
  inbox: 'INSTAGRAM';
}

/** The Message button for `recipientId`: what it is does not depend on who looks at it. */
export function messageActionFor(recipientId: string | number): MessageActionModel {
  return {
    recipient: { id: String(recipientId) },
    label: 'Message',
    mutation: 'sendDirectMessage',
    inbox: 'INSTAGRAM',
  };
}
