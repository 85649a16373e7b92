/**
 * Validates HTTP requests and responses against Pleo's OpenAPI file as published
 * (`src/generated/export-v3.spec.json`, only the §11.1 date-pattern defect patched), with Ajv.
 * No client-side leniency is applied here: this is the contract.
 *
 * Checks per request: the operation exists for method + path; path parameters; query parameters
 * (declared names only, arrays in form/explode style as repeated keys, integer coercion, required
 * ones present); the security scheme (Basic or Bearer); the JSON body against the request schema
 * and its media type.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import spec from '../../src/generated/export-v3.spec.json' with { type: 'json' };

const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema: { type?: string; items?: { type?: string; $ref?: string }; $ref?: string };
}

interface Operation {
  operationId: string;
  method: string;
  template: string;
  pattern: RegExp;
  pathNames: string[];
  pointer: string;
  parameters: Parameter[];
  requestBody?: { content: Record<string, unknown> };
  responses: Record<string, { content?: Record<string, unknown> }>;
}

const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(spec, 'spec');
const compiled = new Map<string, ValidateFunction>();

function validator(pointer: string): ValidateFunction {
  let validate = compiled.get(pointer);
  if (validate === undefined) {
    validate = ajv.compile({ $ref: `spec#${pointer}` });
    compiled.set(pointer, validate);
  }
  return validate;
}

const escape = (segment: string): string => segment.replace(/~/g, '~0').replace(/\//g, '~1');
const format = (errors: ErrorObject[] | null | undefined, where: string): string[] =>
  (errors ?? []).map((e) => `${where}${e.instancePath} ${e.message ?? 'invalid'}`);

export const OPERATIONS: Operation[] = Object.entries(spec.paths).flatMap(([template, item]) =>
  Object.entries(item as Record<string, unknown>)
    .filter(([, op]) => typeof op === 'object' && op !== null && 'operationId' in op)
    .map(([method, raw]) => {
      const op = raw as {
        operationId: string;
        parameters?: Parameter[];
        requestBody?: { content: Record<string, unknown> };
        responses: Operation['responses'];
      };
      const pathNames: string[] = [];
      const regex = template
        .replace(/[.*+?^${}()|[\]\\]/g, (c) => `\\${c}`)
        .replace(/\\\{(\w+)\\\}/g, (_m, name: string) => {
          pathNames.push(name);
          return '([^/]+)';
        });
      return {
        operationId: op.operationId,
        method: method.toUpperCase(),
        template,
        pattern: new RegExp(`^${regex}$`),
        pathNames,
        pointer: `/paths/${escape(template)}/${method}`,
        parameters: op.parameters ?? [],
        ...(op.requestBody === undefined ? {} : { requestBody: op.requestBody }),
        responses: op.responses,
      };
    }),
);

export interface RequestToCheck {
  method: string;
  url: URL;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function coerce(value: string, type: string | undefined): unknown {
  if ((type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
  return value;
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
  const operation = OPERATIONS.find(
    (op) => op.method === request.method && op.pattern.test(request.url.pathname),
  );
  if (operation === undefined) {
    return {
      operationId: undefined,
      violations: [`no operation for ${request.method} ${request.url.pathname}`],
    };
  }
  const violations: string[] = [];
  const match = operation.pattern.exec(request.url.pathname);
  operation.parameters.forEach((param, index) => {
    const where = `${param.in} parameter ${param.name}`;
    const validate = validator(`${operation.pointer}/parameters/${index}/schema`);
    if (param.in === 'path') {
      const raw = match?.[operation.pathNames.indexOf(param.name) + 1];
      if (raw === undefined) return void violations.push(`${where} is missing`);
      if (!validate(decodeURIComponent(raw))) violations.push(...format(validate.errors, where));
      return;
    }
    if (param.in !== 'query') return;
    const values = request.url.searchParams.getAll(param.name);
    if (values.length === 0) {
      if (param.required === true) violations.push(`${where} is required`);
      return;
    }
    const isArray = param.schema.type === 'array';
    if (!isArray && values.length > 1) violations.push(`${where} is repeated but not an array`);
    const itemType = isArray ? param.schema.items?.type : param.schema.type;
    const value = isArray ? values.map((v) => coerce(v, itemType)) : coerce(values[0] ?? '', itemType);
    if (!validate(value)) violations.push(...format(validate.errors, where));
  });
  const declared = new Set(operation.parameters.filter((p) => p.in === 'query').map((p) => p.name));
  for (const name of new Set(request.url.searchParams.keys())) {
    if (!declared.has(name)) violations.push(`query parameter ${name} is not declared`);
  }
  const auth = header(request.headers, 'authorization') ?? '';
  if (!/^Bearer \S+$/.test(auth) && !/^Basic [A-Za-z0-9+/]+=*$/.test(auth)) {
    violations.push('no Authorization header for bearerAuth or basicAuth');
  }
  if (operation.requestBody === undefined) {
    if (request.body !== '') violations.push('a body was sent to an operation without a request body');
  } else {
    const mediaTypes = Object.keys(operation.requestBody.content);
    const contentType = header(request.headers, 'content-type') ?? '';
    const mediaType = mediaTypes.find(
      (mt) => mt.replace(/\s/g, '').toLowerCase() === contentType.replace(/\s/g, '').toLowerCase(),
    );
    if (mediaType === undefined) {
      violations.push(`content-type ${contentType} is not one of ${mediaTypes.join(', ')}`);
    } else {
      let body: unknown;
      try {
        body = JSON.parse(request.body);
      } catch {
        violations.push('the body is not JSON');
      }
      const validate = validator(`${operation.pointer}/requestBody/content/${escape(mediaType)}/schema`);
      if (body !== undefined && !validate(body)) violations.push(...format(validate.errors, 'body'));
    }
  }
  return { operationId: operation.operationId, violations };
}

/** Validates a response body against the spec's schema for that operation and status. */
export function checkResponse(operationId: string, status: number, body: unknown): string[] {
  const operation = OPERATIONS.find((op) => op.operationId === operationId);
  if (operation === undefined) return [`unknown operation ${operationId}`];
  const response = operation.responses[String(status)];
  if (response === undefined) return [`${operationId} does not document status ${status}`];
  const mediaType = Object.keys(response.content ?? {})[0];
  if (mediaType === undefined) return body === undefined ? [] : [`${operationId} ${status} has no body`];
  const validate = validator(`${operation.pointer}/responses/${status}/content/${escape(mediaType)}/schema`);
  return validate(body) ? [] : format(validate.errors, 'response');
}
