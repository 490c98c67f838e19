import type { AuthPayload } from './generated/resolvers-types.js';
import type { Connection } from '@igt/common';
import type { statuses, users } from './db/schema.js';

/** A User as resolvers receive it: the stored row. */
export type UserModel = typeof users.$inferSelect;
/** A Status as resolvers receive it: the stored row. */
export type StatusModel = typeof statuses.$inferSelect;
export type UserConnectionModel = Connection<UserModel>;
export type UserEdgeModel = UserConnectionModel['edges'][number];
export type AuthPayloadModel = Omit<AuthPayload, 'user'> & { user: UserModel };
