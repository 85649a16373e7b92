/**
 * Checks a whole recorded HTTP request against Pleo's OpenAPI file as published
 * (`src/generated/export-v3.spec.json`, only the date defect docs/decisions.md#s1 patched). No client-side
 * leniency is applied here: this is the contract.
 *
 * Query strings, request bodies and responses are validated by the shared helper
 * (`test/helpers/openapi.ts`, also used by the simulator's tests). This file adds what a client
 * test needs on top: the operation exists for method + concrete path, path parameters match their
 * schemas, a security scheme is used (Basic or Bearer), and the body's media type is the declared one.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import spec from '../../src/generated/export-v3.spec.json' with { type: 'json' };
import { contract } from '../helpers/openapi.js';

const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);

interface PathParameter {
  name: string;
  validate: ValidateFunction;
}

interface SpecOperation {
  parameters?: { name: string; in: string; schema: object }[];
  requestBody?: { content: Record<string, unknown> };
}

/** The Export API operations of the spec (the shared helper also knows the subscription API). */
export const OPERATIONS = contract.operations().filter((op) => op.path.startsWith('/v3/'));

function specOperation(template: string, method: string): SpecOperation {
  const item = (spec.paths as Record<string, Record<string, SpecOperation> | undefined>)[template];
  return item?.[method.toLowerCase()] ?? {};
}

const pathParameters = new Map<string, PathParameter[]>(
  OPERATIONS.map((op) => [
    op.operationId,
    (specOperation(op.path, op.method).parameters ?? [])
      .filter((p) => p.in === 'path')
      .map((p) => ({ name: p.name, validate: ajv.compile(p.schema) })),
  ]),
);

export interface RequestToCheck {
  method: string;
  url: URL;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function header(headers: RequestToCheck['headers'], name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Returns the contract violations of one request (empty when it conforms) and its operationId. */
export function checkRequest(request: RequestToCheck): {
  operationId: string | undefined;
  violations: string[];
} {
  const path = request.url.pathname;
  let operation: (typeof OPERATIONS)[number] | undefined;
  try {
    const { operationId } = contract.operation({ method: request.method, path });
    operation = OPERATIONS.find((op) => op.operationId === operationId);
  } catch {
    operation = undefined;
  }
  if (operation === undefined) {
    return { operationId: undefined, violations: [`no operation for ${request.method} ${path}`] };
  }
  const ref = operation.operationId;
  const violations: string[] = [];

  // Path parameters, in template order.
  const templateSegments = operation.path.split('/');
  const segments = path.split('/');
  for (const parameter of pathParameters.get(ref) ?? []) {
    const raw = segments[templateSegments.indexOf(`{${parameter.name}}`)];
    if (raw === undefined || !parameter.validate(decodeURIComponent(raw))) {
      violations.push(`path parameter ${parameter.name}: ${JSON.stringify(raw)} does not match its schema`);
    }
  }

  violations.push(...contract.validateQuery(ref, request.url.searchParams).errors);

  const auth = header(request.headers, 'authorization') ?? '';
  if (!/^Bearer \S+$/.test(auth) && !/^Basic [A-Za-z0-9+/]+=*$/.test(auth)) {
    violations.push('no Authorization header for bearerAuth or basicAuth');
  }

  const declared = Object.keys(specOperation(operation.path, operation.method).requestBody?.content ?? {});
  let body: unknown;
  if (request.body !== '') {
    const contentType = (header(request.headers, 'content-type') ?? '').replace(/\s/g, '').toLowerCase();
    if (!declared.some((mt) => mt.replace(/\s/g, '').toLowerCase() === contentType)) {
      violations.push(`content-type ${contentType} is not one of ${declared.join(', ') || '(no body)'}`);
    }
    try {
      body = JSON.parse(request.body);
    } catch {
      violations.push('the body is not JSON');
    }
  }
  violations.push(...contract.validateRequestBody(ref, body).errors);
  return { operationId: ref, violations };
}

/** Validates a response body against the spec's schema for that operation and status. */
export function checkResponse(operationId: string, status: number, body: unknown): string[] {
  const result = contract.validateResponse(operationId, status, body);
  return result.documented
    ? result.errors
    : [`${operationId} does not document status ${status}`, ...result.errors];
}
