/** What Instagram's resolvers receive as parents: the models codegen.json maps GraphQL types to, mostly stored rows. */
import type { AuthPayload } from './generated/resolvers-types.js';
import type { Connection } from '@igt/common';
import type { statuses, users } from './db/schema.js';

/** A User as resolvers receive it: the stored row, less the password hash (only signing in reads it). */
export type UserModel = Omit<typeof users.$inferSelect, 'passwordHash'>;
/** A Status as resolvers receive it: the stored row. */
export type StatusModel = typeof statuses.$inferSelect;
/** A page of users (followers, following, close friends, follow requests), as list fields return it. */
export type UserConnectionModel = Connection<UserModel>;
/** One user of a page, with its cursor. */
export type UserEdgeModel = UserConnectionModel['edges'][number];
/** What signUp and login return: the token with the stored user row, so User resolves on it as anywhere else. */
export type AuthPayloadModel = Omit<AuthPayload, 'user'> & { user: UserModel };
