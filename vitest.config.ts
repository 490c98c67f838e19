/** Vitest's settings for every spec: which files run, workspace sources, and the timeouts a booted stack needs. */
import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Workspace packages export their TypeScript sources under the `source` condition.
  resolve: {
    conditions: ['source'],
    // Node loads graphql-js through its CommonJS entry for everyone (it has no `exports`); Vite would hand our
    // sources its ESM build instead, a second copy whose classes fail graphql-js's cross-realm checks.
    alias: [{ find: /^graphql$/, replacement: createRequire(import.meta.url).resolve('graphql') }],
  },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: [
      'test/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
      'subgraphs/*/test/**/*.test.ts',
      'gateway/test/**/*.test.ts',
    ],
    // What the entry points hand @apollo/gateway (handTelemetryChoiceToApollo): tests build gateways directly.
    env: { APOLLO_TELEMETRY_DISABLED: 'true' },
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
