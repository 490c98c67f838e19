/** The schema stays in step: supergraph and resolver types match the SDLs, all is described, DESIGN.md's names hold. */
import { readFileSync } from 'node:fs';
import { buildSchema, isObjectType, isEnumType, isInputObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { API_SCHEMA_PATH, apiSchemaOf, composeSupergraph, SUBGRAPHS, SUPERGRAPH_PATH } from '../scripts/supergraph.js';
import { generateResolverTypes, resolverTypesPath } from '../scripts/resolver-types.js';

describe('schema', () => {
  it('should compose the subgraph SDLs into the committed supergraph (run `npm run compose` when this fails)', () => {
    expect(composeSupergraph()).toBe(readFileSync(SUPERGRAPH_PATH, 'utf8'));
  });

  it("should commit the supergraph's API schema beside it (run `npm run compose` when this fails)", () => {
    expect(apiSchemaOf(readFileSync(SUPERGRAPH_PATH, 'utf8'))).toBe(readFileSync(API_SCHEMA_PATH, 'utf8'));
  });

  it('should give clients an API schema without federation internals, and the whole graph', () => {
    const api = readFileSync(API_SCHEMA_PATH, 'utf8');
    expect(api).not.toMatch(/join__|link__|_entities|_service|_Any|@key|@external|@shareable|@inaccessible/);
    const schema = buildSchema(api);
    expect(Object.keys(schema.getQueryType()!.getFields())).toEqual(
      expect.arrayContaining(['viewer', 'user', 'profile', 'feed', 'inbox']),
    );
    expect(Object.keys(schema.getSubscriptionType()!.getFields())).toContain('directMessageReceived');
  });

  it.each(SUBGRAPHS)(
    'should have up-to-date generated resolver types for %s (run `npm run codegen` when this fails)',
    async (name) => {
      expect(await generateResolverTypes(name)).toBe(readFileSync(resolverTypesPath(name), 'utf8'));
    },
  );

  it('should describe every type, field, argument and enum value clients can see', () => {
    const sdl = readFileSync(SUPERGRAPH_PATH, 'utf8');
    const schema = buildSchema(sdl, { assumeValid: true });
    const missing: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith('__') || type.name.startsWith('join__') || type.name.startsWith('link__')) continue;
      if (['String', 'Int', 'Float', 'Boolean', 'ID'].includes(type.name)) continue;
      if (!type.description) missing.push(type.name);
      if (isObjectType(type) || isInputObjectType(type)) {
        for (const field of Object.values(type.getFields()))
          if (!field.description) missing.push(`${type.name}.${field.name}`);
      }
      if (isObjectType(type)) {
        for (const field of Object.values(type.getFields())) {
          for (const arg of field.args) if (!arg.description) missing.push(`${type.name}.${field.name}(${arg.name})`);
        }
      }
      if (isEnumType(type))
        for (const value of type.getValues()) if (!value.description) missing.push(`${type.name}.${value.name}`);
    }
    expect(missing).toEqual([]);
  });

  it('should keep the contract names of DESIGN.md', () => {
    const schema = buildSchema(readFileSync(SUPERGRAPH_PATH, 'utf8'), { assumeValid: true });
    const fields = (type: string) => Object.keys((schema.getType(type) as { getFields(): object }).getFields());
    expect(fields('Query')).toEqual(
      expect.arrayContaining(['viewer', 'user', 'profile', 'feed', 'inbox', 'conversation']),
    );
    expect(fields('Mutation')).toEqual(
      expect.arrayContaining([
        'signUp',
        'login',
        'follow',
        'unfollow',
        'block',
        'unblock',
        'setCloseFriend',
        'joinThreads',
        'postThread',
        'sendDirectMessage',
      ]),
    );
    expect(fields('Subscription')).toEqual(expect.arrayContaining(['directMessageReceived']));
    expect(fields('MessageAction')).toEqual(
      expect.arrayContaining(['label', 'mutation', 'inbox', 'enabled', 'disabledReason', 'recipient', 'conversation']),
    );
  });
});
