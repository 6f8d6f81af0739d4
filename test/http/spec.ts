/** openapi.yaml for tests: loaded and validated once, and a checker of real answers against it. */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

type Json = Record<string, unknown>;

const SPEC_PATH = fileURLToPath(new URL('../../openapi.yaml', import.meta.url));
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** The spec, validated as OpenAPI, with every $ref resolved. */
export interface LoadedSpec {
  readonly version: string;
  readonly document: Json;
  /** `METHOD /path` → operation object. */
  readonly operations: ReadonlyMap<string, Json>;
}

/** Loads openapi.yaml; fails the test with the validator's errors when it is not valid OpenAPI. */
export async function loadSpec(): Promise<LoadedSpec> {
  const validator = new Validator();
  const result = await validator.validate(SPEC_PATH);
  assert.equal(result.valid, true, `openapi.yaml is not valid OpenAPI: ${JSON.stringify(result.errors, null, 2)}`);
  const document = validator.resolveRefs();
  const operations = new Map<string, Json>();
  for (const [path, item] of Object.entries(document.paths as Record<string, Json>)) {
    for (const method of METHODS) if (item[method]) operations.set(`${method.toUpperCase()} ${path}`, item[method] as Json);
  }
  return { version: validator.version, document, operations };
}

/** Validates real answers: documented status, documented content type, body matching the schema. */
export class ResponseChecker {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly compiled = new Map<unknown, ValidateFunction>();
  /** `METHOD /path status` answers seen. */
  readonly seen = new Set<string>();

  constructor(private readonly spec: LoadedSpec) {
    this.ajv.addFormat('date-time', (s: string) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(s));
  }

  /**
   * Checks one answer to `route` ("METHOD /path"); `unrouted` answers (404, 405) are checked against
   * the spec's Error schema. Returns the parsed body.
   */
  async check(route: string, res: Response, unrouted = false): Promise<unknown> {
    const mediaType = (res.headers.get('content-type') ?? '').split(';')[0]!;
    const text = await res.text();
    let content: Json;
    if (unrouted) {
      content = { 'application/json': { schema: (this.spec.document.components as { schemas: Json }).schemas.Error } };
    } else {
      const op = this.spec.operations.get(route);
      assert.ok(op, `${route} is not in openapi.yaml`);
      const response = (op.responses as Record<string, Json>)[String(res.status)];
      assert.ok(response, `${route} answered ${res.status}, which openapi.yaml does not document: ${text}`);
      content = response.content as Json;
      this.seen.add(`${route} ${res.status}`);
    }
    const media = content[mediaType] as Json | undefined;
    assert.ok(media, `${route} ${res.status} answered ${mediaType}; documented: ${Object.keys(content).join(', ')}`);
    const body: unknown = mediaType === 'application/json' ? JSON.parse(text) : text;
    let validate = this.compiled.get(media.schema);
    if (!validate) {
      validate = this.ajv.compile(media.schema as Json);
      this.compiled.set(media.schema, validate);
    }
    assert.ok(validate(body), `${route} ${res.status}: ${this.ajv.errorsText(validate.errors)}\n${text}`);
    return body;
  }
}
