/** The Instagram subgraph's resolver map: one file per GraphQL type, merged here. */
import type { Resolvers } from '../generated/resolvers-types.js';
import { Mutation } from './Mutation.js';
import { Query } from './Query.js';
import { Status } from './Status.js';
import { User } from './User.js';

/** Every Instagram resolver, one file per GraphQL type. */
export const resolvers: Resolvers = { Query, Mutation, User, Status };
