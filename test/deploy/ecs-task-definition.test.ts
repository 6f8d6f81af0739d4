import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CPUArchitecture,
  Compatibility,
  ContainerCondition,
  LogDriver,
  NetworkMode,
  OSFamily,
  TransportProtocol,
  type RegisterTaskDefinitionCommandInput,
} from '@aws-sdk/client-ecs';
import taskDefinition from '../../ecs-task-definition.json' with { type: 'json' };
import { OPTION_LIST, SYNC_OPTS_ENV } from '../../src/config/options.js';

// --- Compile time: the file has the shape of RegisterTaskDefinitionCommandInput ----------------
// A JSON import widens every string to `string`, so the SDK's enum unions ("awsvpc" | "bridge" …)
// cannot be matched by the type checker; they are widened here and checked at runtime below
// against the SDK's own enum objects. Everything else is checked by the compiler: names (a typo is
// an extra key, refused below), nesting, and string-vs-number fields.

/** `T` with every string-literal union widened to `string`, recursively. */
type Widen<T> = T extends string
  ? string
  : T extends readonly (infer E)[]
    ? Widen<E>[]
    : T extends Date
      ? T
      : T extends object
        ? { [K in keyof T]: Widen<T[K]> }
        : T;

/** `T` with every key that `S` lacks (recursively) turned into `never`, so extra keys fail to compile. */
type NoExtraKeys<T, S> = T extends readonly (infer E)[]
  ? S extends readonly (infer SE)[]
    ? NoExtraKeys<E, SE>[]
    : T
  : T extends object
    ? { [K in keyof T]: K extends keyof S ? NoExtraKeys<T[K], NonNullable<S[K]>> : never }
    : T;

type TaskDefinitionShape = Widen<RegisterTaskDefinitionCommandInput>;
const typed: TaskDefinitionShape & NoExtraKeys<typeof taskDefinition, TaskDefinitionShape> = taskDefinition;

// --- Runtime ------------------------------------------------------------------------------------

const sidecar = typed.containerDefinitions.find((c) => c.name === 's3-sync2');
const app = typed.containerDefinitions.find((c) => c.name !== 's3-sync2');

function env(name: string): string | undefined {
  return sidecar?.environment?.find((e) => e.name === name)?.value;
}

function oneOf(values: Record<string, string>, value: string | undefined, field: string): void {
  assert.ok(value !== undefined && Object.values(values).includes(value), `${field}: ${value} is not one of ${Object.values(values).join(', ')}`);
}

// Fargate's valid task-level cpu units → memory (MiB) choices.
const FARGATE_SIZES: Record<string, number[]> = {
  '256': [512, 1024, 2048],
  '512': [1024, 2048, 3072, 4096],
  '1024': range(2048, 8192, 1024),
  '2048': range(4096, 16384, 1024),
  '4096': range(8192, 30720, 1024),
};

test('task definition: enum fields hold values the ECS API accepts', () => {
  oneOf(NetworkMode, typed.networkMode, 'networkMode');
  for (const c of typed.requiresCompatibilities ?? []) oneOf(Compatibility, c, 'requiresCompatibilities');
  oneOf(CPUArchitecture, typed.runtimePlatform?.cpuArchitecture, 'runtimePlatform.cpuArchitecture');
  oneOf(OSFamily, typed.runtimePlatform?.operatingSystemFamily, 'runtimePlatform.operatingSystemFamily');
  for (const c of typed.containerDefinitions) {
    for (const p of c.portMappings ?? []) oneOf(TransportProtocol, p.protocol, `${c.name}.portMappings.protocol`);
    for (const d of c.dependsOn ?? []) oneOf(ContainerCondition, d.condition, `${c.name}.dependsOn.condition`);
    oneOf(LogDriver, c.logConfiguration?.logDriver, `${c.name}.logConfiguration.logDriver`);
  }
});

test('task definition: a Fargate task of a valid size, with task and execution roles', () => {
  assert.equal(typed.networkMode, 'awsvpc');
  assert.deepEqual(typed.requiresCompatibilities, ['FARGATE']);
  assert.ok(FARGATE_SIZES[typed.cpu ?? '']?.includes(Number(typed.memory)), `cpu ${typed.cpu} / memory ${typed.memory}`);
  assert.match(typed.taskRoleArn ?? '', /^arn:aws:iam::[A-Z0-9_]+:role\/\S+$/);
  assert.match(typed.executionRoleArn ?? '', /^arn:aws:iam::[A-Z0-9_]+:role\/\S+$/);
  assert.ok(sidecar, 'a container named s3-sync2');
  assert.ok(app, 'an application container');
  assert.equal(sidecar.essential, true, 'the task stops (and is replaced) when the sidecar gives up');
  assert.equal(app.essential, true);
});

test('task definition: the app and the sidecar share an ephemeral task volume at LOCAL_PATH', () => {
  assert.ok(sidecar && app);
  const volume = sidecar.mountPoints?.find((m) => m.containerPath === env('LOCAL_PATH'));
  assert.ok(volume, `the sidecar mounts a volume at LOCAL_PATH (${env('LOCAL_PATH')})`);
  assert.equal(volume.readOnly ?? false, false);
  const declared = typed.volumes?.find((v) => v.name === volume.sourceVolume);
  assert.ok(declared, `volume ${volume.sourceVolume} is declared`);
  assert.deepEqual(Object.keys(declared), ['name'], 'task storage: no host path, EFS or Docker volume configuration');
  assert.ok(app.mountPoints?.some((m) => m.sourceVolume === volume.sourceVolume && !m.readOnly), 'the app mounts it read-write');
});

test('task definition: the sidecar health check runs the image script with a start period for a first sync', () => {
  const check = sidecar?.healthCheck;
  assert.ok(check);
  assert.deepEqual(check.command, ['CMD', 'node', 'scripts/healthcheck.mjs']);
  assert.ok(check.startPeriod !== undefined && check.startPeriod >= 60 && check.startPeriod <= 300, `startPeriod ${check.startPeriod}`);
  assert.ok(check.interval !== undefined && check.interval >= 5 && check.interval <= 300);
  assert.ok(check.timeout !== undefined && check.timeout >= 2 && check.timeout < check.interval);
  assert.ok(check.timeout > 3, 'above the script\'s own 3 s deadline, so the script reports, not ECS');
  assert.ok(check.retries !== undefined && check.retries >= 1 && check.retries <= 10);
  // The script calls 127.0.0.1:$HTTP_PORT: the server must listen there.
  assert.ok(Number(env('HTTP_PORT') ?? 9180) > 0, 'the HTTP server is on');
  assert.ok(['127.0.0.1', '0.0.0.0', undefined].includes(env('HTTP_HOST')), `HTTP_HOST ${env('HTTP_HOST')} is reachable on loopback`);
});

test('task definition: the app starts only once the sidecar is HEALTHY', () => {
  assert.deepEqual(app?.dependsOn, [{ containerName: 's3-sync2', condition: 'HEALTHY' }]);
});

test('task definition: the sidecar stopTimeout leaves room for the final sync', () => {
  const shutdown = Number(env('SHUTDOWN_TIMEOUT') ?? 25);
  const stop = sidecar?.stopTimeout;
  assert.ok(stop !== undefined && stop > shutdown + 5, `stopTimeout ${stop} s > SHUTDOWN_TIMEOUT ${shutdown} s plus lock release`);
  assert.ok(stop <= 120, 'Fargate allows at most 120 s');
});

test('task definition: both containers log to CloudWatch with awslogs', () => {
  for (const c of typed.containerDefinitions) {
    assert.equal(c.logConfiguration?.logDriver, 'awslogs', c.name);
    const options = c.logConfiguration?.options ?? {};
    for (const key of ['awslogs-group', 'awslogs-region', 'awslogs-stream-prefix']) assert.ok(options[key], `${c.name}: ${key}`);
  }
});

test('task definition: environment entries for the main options, all names the config reads', () => {
  const known = new Set<string>([
    ...OPTION_LIST.flatMap(([, spec]) => spec.env ?? []),
    ...Object.values(SYNC_OPTS_ENV),
  ]);
  const names = (sidecar?.environment ?? []).map((e) => e.name ?? '');
  for (const name of names) assert.ok(known.has(name), `${name} is an environment variable of the option table`);
  assert.equal(new Set(names).size, names.length, 'no duplicates');
  const main = ['LOCAL_PATH', 'S3_URI', 'POLL_INTERVAL', 'DFS', 'CONFLICT_POLICY', 'MAX_DELETE', 'SHUTDOWN_TIMEOUT', 'HTTP_PORT', 'STATE_DIR', 'CF_DISTRIBUTION_ID'];
  for (const name of main) assert.ok(names.includes(name), `${name} is set`);
  assert.match(env('S3_URI') ?? '', /^s3:\/\/[^/]+\/.+/);
});

function range(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let n = from; n <= to; n += step) out.push(n);
  return out;
}
