/**
 * Contract validation against the shared OpenAPI description, for any test that talks to
 * Pleo's Export API or to the simulator (client tests, simulator tests, end-to-end tests).
 *
 * Source: `src/generated/export-v3.spec.json` (the shared file as JSON, with the date
 * "patterns" removed, docs/decisions.md#s1) plus the webhook-subscription operations, which are not in
 * that file: they are transcribed below from Pleo's subscriptions spec (docs/decisions.md#w10).
 *
 * Preparation of the spec (OpenAPI 3.0 → Ajv 8):
 * - local `$ref`s are re-rooted to one registered document, so any fragment compiles alone;
 * - `nullable: true` is Ajv's own keyword; for a nullable `enum`, `null` is added to the enum
 *   (OpenAPI 3.0 semantics; Ajv would reject null otherwise: SupplierV3.country);
 * - formats come from ajv-formats (`uuid`, `date-time`, `int32`, `int64`, …).
 *
 * What is checked:
 * - responses: the body against the schema of the documented status. A body for a status the
 *   spec does not document (e.g. 401, or 404 on getExportItemsV3) is checked against
 *   `ExceptionInfo` when it is an error status, and `documented: false` is reported; an
 *   undocumented 2xx is an error. Operations documented without content (202) must have no body.
 * - request bodies: against the operation's requestBody schema.
 * - query strings: each parameter against its schema (strings coerced to numbers / arrays as
 *   form-explode serialization implies), unknown parameters, a non-array parameter repeated,
 *   missing required ones, and the rule stated in the parameter descriptions that `before`,
 *   `after` and `offset` are mutually exclusive.
 *
 * @example
 * import { contract } from '../helpers/openapi.js';
 * const res = await fetch(`${url}/v3/export-jobs`, { headers });
 * const body = await res.json();
 * contract.assertResponse('getExportJobsListV3', res.status, body);
 * contract.assertResponse({ method: 'GET', path: '/v3/export-jobs/123e…' }, 404, body);
 * contract.assertQuery('getExportJobItemsV3', 'status=failed&limit=50');
 * contract.assertSchema('ExportJobV3', webhookPayload.payload.data);
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** An operationId, or a method with a path (a template like `/v3/export-jobs/{jobId}` or a concrete path). */
export type OperationRef = string | { method: string; path: string };

export interface ValidationResult {
  ok: boolean;
  /** Human-readable problems, e.g. `/data/0/status: must be string`. */
  errors: string[];
  operationId: string;
  /** False when the status is not documented and the error fallback was used. */
  documented: boolean;
}

export interface OperationInfo {
  operationId: string;
  method: string;
  path: string;
  /** Documented statuses. */
  statuses: string[];
}

export interface ContractOptions {
  /** Path of the JSON spec. @default src/generated/export-v3.spec.json */
  specPath?: string;
  /** Include the transcribed webhook-subscription operations. @default true */
  subscriptions?: boolean;
  /** Check undocumented error statuses against ExceptionInfo instead of failing. @default true */
  errorFallback?: boolean;
  /** Accept query parameters the operation does not declare. @default false */
  allowUnknownQuery?: boolean;
}

const JSON_MEDIA = 'application/json;charset=UTF-8';
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/** Webhook subscriptions (docs/decisions.md#w10), as an OpenAPI fragment in the shape of the shared file. */
export const SUBSCRIPTIONS_SPEC: { paths: JsonObject; schemas: JsonObject } = {
  paths: {
    '/v1/subscriptions': {
      post: {
        operationId: 'createSubscription',
        requestBody: {
          required: true,
          content: { [JSON_MEDIA]: { schema: { $ref: '#/components/schemas/SubscriptionRequest' } } },
        },
        responses: {
          '200': {
            content: { [JSON_MEDIA]: { schema: { $ref: '#/components/schemas/SubscriptionResponse' } } },
          },
          '400': { content: { [JSON_MEDIA]: { schema: { $ref: '#/components/schemas/ExceptionInfo' } } } },
        },
      },
    },
    '/v1/subscriptions/{id}': {
      get: {
        operationId: 'getSubscription',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          '200': {
            content: { [JSON_MEDIA]: { schema: { $ref: '#/components/schemas/SubscriptionResponse' } } },
          },
          '404': { content: { [JSON_MEDIA]: { schema: { $ref: '#/components/schemas/ExceptionInfo' } } } },
        },
      },
      delete: {
        operationId: 'deleteSubscription',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          '204': {},
          '404': { content: { [JSON_MEDIA]: { schema: { $ref: '#/components/schemas/ExceptionInfo' } } } },
        },
      },
    },
    '/v1/subscriptions/{id}/secret': {
      get: {
        operationId: 'getSubscriptionSecret',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          '200': {
            content: {
              [JSON_MEDIA]: { schema: { $ref: '#/components/schemas/SubscriptionSecretResponse' } },
            },
          },
          '404': { content: { [JSON_MEDIA]: { schema: { $ref: '#/components/schemas/ExceptionInfo' } } } },
        },
      },
    },
  },
  schemas: {
    SubscriptionEndpointAuth: {
      type: 'object',
      properties: {
        type: { type: 'string', enum: ['NONE', 'BASIC'], default: 'NONE' },
        credentials: {
          type: 'object',
          properties: {
            username: { type: 'string' },
            password: { type: 'string' },
            token: { type: 'string' },
          },
        },
      },
    },
    SubscriptionRequest: {
      type: 'object',
      required: ['endpointUrl', 'eventTypes'],
      properties: {
        endpointUrl: { type: 'string' },
        eventTypes: { type: 'array', uniqueItems: true, items: { type: 'string' } },
        customHeaders: { type: 'object', additionalProperties: { type: 'string' } },
        endpointAuth: { $ref: '#/components/schemas/SubscriptionEndpointAuth' },
        status: { type: 'string', enum: ['ACTIVE', 'INACTIVE'], default: 'ACTIVE' },
      },
    },
    SubscriptionModel: {
      type: 'object',
      required: ['id', 'endpointUrl', 'eventTypes', 'status', 'createdAt', 'updatedAt'],
      properties: {
        id: { type: 'string' },
        endpointUrl: { type: 'string' },
        eventTypes: { type: 'array', uniqueItems: true, items: { type: 'string' } },
        status: { type: 'string', enum: ['ACTIVE', 'INACTIVE'] },
        createdAt: { type: 'string', format: 'date-time' },
        updatedAt: { type: 'string', format: 'date-time' },
        customHeaders: { type: 'object', additionalProperties: { type: 'string' } },
        deletedAt: { type: 'string', format: 'date-time' },
        deletedBy: { type: 'string' },
        endpointAuth: { $ref: '#/components/schemas/SubscriptionEndpointAuth' },
      },
    },
    SubscriptionResponse: {
      type: 'object',
      required: ['data'],
      properties: { data: { $ref: '#/components/schemas/SubscriptionModel' } },
    },
    SubscriptionSecretResponse: {
      type: 'object',
      required: ['data'],
      properties: {
        data: { type: 'object', required: ['secretKey'], properties: { secretKey: { type: 'string' } } },
      },
    },
  },
};

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Re-roots `#/…` refs to the registered document and makes nullable enums accept null. */
function prepare(node: Json): Json {
  if (Array.isArray(node)) return node.map(prepare);
  if (!isObject(node)) return node;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(node)) {
    out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `pleo${v}` : prepare(v);
  }
  if (out.nullable === true && Array.isArray(out.enum) && !out.enum.includes(null))
    out.enum = [...out.enum, null];
  return out;
}

function formatErrors(errors: ErrorObject[] | null | undefined, prefix = ''): string[] {
  return (errors ?? []).map((e) => {
    const extra =
      e.keyword === 'additionalProperties'
        ? ` '${String((e.params as { additionalProperty?: string }).additionalProperty)}'`
        : e.keyword === 'enum'
          ? ` ${JSON.stringify((e.params as { allowedValues?: unknown }).allowedValues)}`
          : '';
    return `${prefix}${e.instancePath || '/'}: ${e.message ?? e.keyword}${extra}`;
  });
}

interface Operation {
  info: OperationInfo;
  node: JsonObject;
  pathRe: RegExp;
}

export class Contract {
  readonly #ajv: Ajv;
  readonly #coercing: Ajv;
  readonly #ops = new Map<string, Operation>();
  readonly #cache = new Map<string, ValidateFunction>();
  readonly #options: Required<Omit<ContractOptions, 'specPath'>>;

  constructor(options: ContractOptions = {}) {
    this.#options = {
      subscriptions: options.subscriptions ?? true,
      errorFallback: options.errorFallback ?? true,
      allowUnknownQuery: options.allowUnknownQuery ?? false,
    };
    const specPath =
      options.specPath ?? fileURLToPath(new URL('../../src/generated/export-v3.spec.json', import.meta.url));
    const raw = JSON.parse(readFileSync(specPath, 'utf8')) as JsonObject;
    const paths = { ...(raw.paths as JsonObject) };
    const schemas = { ...((raw.components as JsonObject).schemas as JsonObject) };
    if (this.#options.subscriptions) {
      Object.assign(paths, SUBSCRIPTIONS_SPEC.paths);
      Object.assign(schemas, SUBSCRIPTIONS_SPEC.schemas);
    }
    const doc = prepare({ $id: 'pleo', components: { schemas } }) as JsonObject;
    const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
    this.#ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
    this.#coercing = addFormats(new Ajv({ strict: false, allErrors: true, coerceTypes: 'array' }));
    this.#ajv.addSchema(doc);
    this.#coercing.addSchema(doc);
    for (const [path, item] of Object.entries(paths)) {
      if (!isObject(item)) continue;
      for (const method of METHODS) {
        const node = item[method];
        if (!isObject(node) || typeof node.operationId !== 'string') continue;
        const pattern = path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+');
        this.#ops.set(node.operationId, {
          info: {
            operationId: node.operationId,
            method: method.toUpperCase(),
            path,
            statuses: Object.keys(isObject(node.responses) ? node.responses : {}),
          },
          node: prepare(node) as JsonObject,
          pathRe: new RegExp(`^${pattern}$`),
        });
      }
    }
  }

  /** Every operation known (the spec's nine plus the subscription ones). */
  operations(): OperationInfo[] {
    return [...this.#ops.values()].map((o) => o.info);
  }

  #find(ref: OperationRef): Operation {
    if (typeof ref === 'string') {
      const op = this.#ops.get(ref);
      if (!op) throw new Error(`Unknown operationId '${ref}'`);
      return op;
    }
    const method = ref.method.toUpperCase();
    const path = ref.path.split('?')[0]!;
    const candidates = [...this.#ops.values()].filter((o) => o.info.method === method);
    const op = candidates.find((o) => o.info.path === path) ?? candidates.find((o) => o.pathRe.test(path));
    if (!op) throw new Error(`No operation for ${method} ${path}`);
    return op;
  }

  operation(ref: OperationRef): OperationInfo {
    return this.#find(ref).info;
  }

  #compile(key: string, ajv: Ajv, schema: Json): ValidateFunction {
    let fn = this.#cache.get(key);
    if (!fn) {
      fn = ajv.compile(schema as object);
      this.#cache.set(key, fn);
    }
    return fn;
  }

  /** Validates a value against a component schema by name, e.g. `ExportJobV3`. */
  validateSchema(name: string, value: unknown): ValidationResult {
    const fn = this.#compile(`schema:${name}`, this.#ajv, { $ref: `pleo#/components/schemas/${name}` });
    const ok = fn(value);
    return { ok, errors: ok ? [] : formatErrors(fn.errors), operationId: '', documented: true };
  }

  validateResponse(ref: OperationRef, status: number, body: unknown): ValidationResult {
    const op = this.#find(ref);
    const id = op.info.operationId;
    const responses = isObject(op.node.responses) ? op.node.responses : {};
    const response = responses[String(status)] ?? responses.default;
    let documented = true;
    let schema: Json | undefined;
    if (isObject(response)) {
      const content = isObject(response.content) ? response.content : undefined;
      if (!content) {
        const empty = body === undefined || body === null || body === '';
        return {
          ok: empty,
          errors: empty ? [] : [`${status}: expected no body`],
          operationId: id,
          documented,
        };
      }
      const media = content[JSON_MEDIA] ?? Object.values(content)[0];
      schema = isObject(media) ? media.schema : undefined;
    } else if (status >= 400 && this.#options.errorFallback) {
      documented = false;
      schema = { $ref: 'pleo#/components/schemas/ExceptionInfo' };
    } else {
      return {
        ok: false,
        errors: [`status ${status} is not documented for ${id}`],
        operationId: id,
        documented: false,
      };
    }
    if (schema === undefined) return { ok: true, errors: [], operationId: id, documented };
    const fn = this.#compile(`res:${id}:${documented ? status : 'fallback'}`, this.#ajv, schema);
    const ok = fn(body);
    return { ok, errors: ok ? [] : formatErrors(fn.errors), operationId: id, documented };
  }

  validateRequestBody(ref: OperationRef, body: unknown): ValidationResult {
    const op = this.#find(ref);
    const id = op.info.operationId;
    const rb = op.node.requestBody;
    const content = isObject(rb) && isObject(rb.content) ? rb.content : undefined;
    if (!content) {
      const ok = body === undefined;
      return { ok, errors: ok ? [] : [`${id} takes no request body`], operationId: id, documented: true };
    }
    const media = content[JSON_MEDIA] ?? Object.values(content)[0];
    const schema = isObject(media) ? media.schema : undefined;
    if (schema === undefined) return { ok: true, errors: [], operationId: id, documented: true };
    const fn = this.#compile(`req:${id}`, this.#ajv, schema);
    const ok = fn(body);
    return { ok, errors: ok ? [] : formatErrors(fn.errors), operationId: id, documented: true };
  }

  /** Validates a query string (`a=1&b=2`, URLSearchParams or a record; arrays = repeated keys). */
  validateQuery(
    ref: OperationRef,
    query: string | URLSearchParams | Record<string, string | number | boolean | (string | number)[]>,
  ): ValidationResult {
    const op = this.#find(ref);
    const id = op.info.operationId;
    const params = new URLSearchParams();
    if (typeof query === 'string' || query instanceof URLSearchParams) {
      for (const [k, v] of new URLSearchParams(query)) params.append(k, v);
    } else {
      for (const [k, v] of Object.entries(query))
        for (const x of Array.isArray(v) ? v : [v]) params.append(k, String(x));
    }
    const declared = (Array.isArray(op.node.parameters) ? op.node.parameters : []).filter(
      (p): p is JsonObject => isObject(p) && p.in === 'query',
    );
    const errors: string[] = [];
    const properties: JsonObject = {};
    const required: string[] = [];
    const value: Record<string, string | string[]> = {};
    for (const p of declared) {
      const name = typeof p.name === 'string' ? p.name : '';
      const schema = isObject(p.schema) ? p.schema : {};
      properties[name] = schema;
      if (p.required === true) required.push(name);
      const values = params.getAll(name);
      if (values.length === 0) continue;
      if (schema.type === 'array') value[name] = values;
      else if (values.length > 1) errors.push(`${name}: given ${values.length} times but is not an array`);
      else value[name] = values[0]!;
    }
    if (!this.#options.allowUnknownQuery) {
      for (const name of new Set(params.keys())) {
        if (!(name in properties)) errors.push(`${name}: not a query parameter of ${id}`);
      }
    }
    const exclusive = ['before', 'after', 'offset'].filter((n) => n in properties && params.has(n));
    if (exclusive.length > 1) errors.push(`${exclusive.join(', ')}: mutually exclusive`);
    const fn = this.#compile(`query:${id}`, this.#coercing, { type: 'object', properties, required });
    if (!fn(value)) errors.push(...formatErrors(fn.errors, 'query'));
    return { ok: errors.length === 0, errors, operationId: id, documented: true };
  }

  #assert(r: ValidationResult, what: string): void {
    if (!r.ok)
      throw new Error(
        `${what} of ${r.operationId} violates the OpenAPI contract:\n  ${r.errors.join('\n  ')}`,
      );
  }

  assertResponse(ref: OperationRef, status: number, body: unknown): void {
    this.#assert(this.validateResponse(ref, status, body), `Response ${status}`);
  }

  assertRequestBody(ref: OperationRef, body: unknown): void {
    this.#assert(this.validateRequestBody(ref, body), 'Request body');
  }

  assertQuery(ref: OperationRef, query: Parameters<Contract['validateQuery']>[1]): void {
    this.#assert(this.validateQuery(ref, query), 'Query');
  }

  assertSchema(name: string, value: unknown): void {
    const r = this.validateSchema(name, value);
    if (!r.ok) throw new Error(`Value violates schema ${name}:\n  ${r.errors.join('\n  ')}`);
  }
}

/** The default contract: the shared file plus the subscription operations. */
export const contract = new Contract();

/**
 * Reads a fetch Response's body (JSON when there is one), validates it against the operation
 * named by `ref` (default: found from `method` and the URL's path) and returns it.
 */
export async function readValidated(res: Response, method: string, ref?: OperationRef): Promise<unknown> {
  const text = await res.text();
  const body: unknown = text === '' ? undefined : JSON.parse(text);
  contract.assertResponse(ref ?? { method, path: new URL(res.url).pathname }, res.status, body);
  return body;
}
