import type { Resolvers } from '../generated/resolvers-types.js';
import { Mutation } from './Mutation.js';
import { Query } from './Query.js';
import { Status } from './Status.js';
import { User } from './User.js';

export const resolvers: Resolvers = { Query, Mutation, User, Status };
