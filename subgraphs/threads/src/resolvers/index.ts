/** The Threads subgraph's resolver map: one file per GraphQL type, merged here. */
import type { Resolvers } from '../generated/resolvers-types.js';
import { MessageAction } from './MessageAction.js';
import { Mutation } from './Mutation.js';
import { Profile } from './Profile.js';
import { Query } from './Query.js';
import { Thread } from './Thread.js';
import { User } from './User.js';

/** Every Threads resolver, one file per GraphQL type. */
export const resolvers: Resolvers = { Query, Mutation, Profile, Thread, User, MessageAction };
