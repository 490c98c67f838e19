/** The gateway's configuration (loadConfig): bad variables named, CORS origins, development and production defaults. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '@igt/gateway/config';
import { PRODUCTION_ENV } from './support/harness.js';

describe('configuration', () => {
  it('should name the variable and what was expected when a value is bad', () => {
    expect(() => loadConfig({ GATEWAY_PORT: 'abc' })).toThrow(
      /GATEWAY_PORT: expected an integer from 0 to 65535, got "abc"/,
    );
    expect(() => loadConfig({ INSTAGRAM_URL: 'ftp://x' })).toThrow(/INSTAGRAM_URL/);
    expect(() => loadConfig({ JWT_SECRET: 'short' })).toThrow(
      /JWT_SECRET: expected a secret of at least 32 characters/,
    );
  });

  it('should read CORS_ORIGINS as * or a list of origins', () => {
    expect(loadConfig({}).CORS_ORIGINS).toBe('*');
    expect(loadConfig({ CORS_ORIGINS: '' }).CORS_ORIGINS).toBe('*');
    expect(loadConfig({ CORS_ORIGINS: 'https://a.example, http://localhost:3000' }).CORS_ORIGINS).toEqual([
      'https://a.example',
      'http://localhost:3000',
    ]);
    expect(() => loadConfig({ CORS_ORIGINS: 'not an origin' })).toThrow(
      /CORS_ORIGINS: expected \* or a comma-separated list/,
    );
  });

  it('should allow introspection and every origin by default in development', () => {
    for (const env of [{}, { NODE_ENV: 'development' }, { NODE_ENV: 'test' }]) {
      expect(loadConfig(env)).toMatchObject({ INTROSPECTION: true, CORS_ORIGINS: '*' });
    }
    expect(loadConfig({ INTROSPECTION: 'false' }).INTROSPECTION).toBe(false);
    expect(() => loadConfig({ INTROSPECTION: 'yes' })).toThrow(/INTROSPECTION: expected true or false, got "yes"/);
  });

  it('should turn introspection off and require CORS_ORIGINS when NODE_ENV=production', () => {
    const { CORS_ORIGINS: _unset, ...withoutOrigins } = PRODUCTION_ENV;
    expect(() => loadConfig(withoutOrigins)).toThrow(/CORS_ORIGINS: must be set when NODE_ENV=production/);
    // An empty value (what compose passes for a variable left blank) counts as unset.
    expect(() => loadConfig({ ...withoutOrigins, CORS_ORIGINS: ' ' })).toThrow(/CORS_ORIGINS: must be set/);
    expect(loadConfig(PRODUCTION_ENV)).toMatchObject({
      INTROSPECTION: false,
      CORS_ORIGINS: ['https://app.example.com'],
    });
    // Both stay the operator's choice when written out.
    expect(loadConfig({ ...PRODUCTION_ENV, CORS_ORIGINS: '*', INTROSPECTION: 'true' })).toMatchObject({
      INTROSPECTION: true,
      CORS_ORIGINS: '*',
    });
  });

  it('should refuse the development secrets when NODE_ENV=production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(
      /JWT_SECRET: must be set[\s\S]*GATEWAY_SECRET: must be set/,
    );
    expect(loadConfig(PRODUCTION_ENV).JWT_SECRET).toBe('j'.repeat(40));
  });

  it('should load the demo people by default except in production, where they must be asked for', () => {
    expect(loadConfig({}).SEED_DEMO_DATA).toBe(true);
    expect(loadConfig(PRODUCTION_ENV).SEED_DEMO_DATA).toBe(false);
    expect(loadConfig({ ...PRODUCTION_ENV, SEED_DEMO_DATA: 'true' }).SEED_DEMO_DATA).toBe(true);
    expect(() => loadConfig({ SEED_DEMO_DATA: 'yes' })).toThrow(/SEED_DEMO_DATA: expected true or false/);
  });
});
