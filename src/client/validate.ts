/**
 * Response validation at the boundary: every 2xx body the client parses is checked against the
 * OpenAPI schemas (`src/generated/export-v3.spec.json`) with Ajv, so a malformed page is a clear
 * {@link MalformedResponseError} naming the operation, not a crash deep inside the engine.
 *
 * Validators are compiled lazily, once per schema per process, from a copy of the spec's
 * components that {@link relaxSpecSchemas} adjusts for documented spec defects. Every adjustment is
 * listed in {@link SPEC_ADJUSTMENTS} with its reason.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { MalformedResponseError } from '../errors/index.js';
import spec from '../generated/export-v3.spec.json' with { type: 'json' };

// ajv-formats is CommonJS with `exports.default`; under NodeNext the default import is the module.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

/** The response schemas the client validates. */
export type ResponseSchemaName =
  | 'CursorPaginatedResponseExportJobV3'
  | 'DataResponseExportJobV3'
  | 'CursorPaginatedResponseExportJobItemV3'
  | 'ExportJobItemUpdateV3'
  | 'CursorPaginatedResponseExportItemV3';

type JsonObject = Record<string, unknown>;

export interface SpecAdjustment {
  schema: string;
  property: string;
  change: 'nullable' | 'drop-length' | 'drop-format' | 'enum-from';
  /** For `enum-from`: the enum schema whose values the plain string must take. */
  enumSchema?: string;
  reason: string;
}

/**
 * Where the client knowingly departs from the spec when validating *responses*. Requests are
 * never relaxed: the contract tests validate them against the spec as published (docs/decisions.md#s1).
 */
export const SPEC_ADJUSTMENTS: readonly SpecAdjustment[] = Object.freeze([
  ...(['ExportJobV3', 'ExportJobItemV3'] as const).map((schema) => ({
    schema,
    property: 'failureReasonType',
    change: 'nullable' as const,
    reason: 'docs/decisions.md#s4: not nullable in v3, but absent-on-success fields may come back as null.',
  })),
  {
    schema: 'ExportItemV3',
    property: 'subType',
    change: 'nullable',
    reason: 'docs/decisions.md#s4: v2 had it nullable; most items have no sub type.',
  },
  ...(['ingoingTaxAccount', 'outgoingTaxAccount'] as const).map((property) => ({
    schema: 'TaxV3',
    property,
    change: 'nullable' as const,
    reason: 'docs/decisions.md#s4: only used with tax codes or reverse charge; otherwise null in practice.',
  })),
  ...(['SupplierV3', 'SupplierBankAccount'] as const).map((schema) => ({
    schema,
    property: 'country',
    change: 'drop-length' as const,
    reason: 'docs/decisions.md#s2: the country enum contains "UNDEFINED" while min/maxLength is 2.',
  })),
  ...(['invoiceDate', 'dueDate', 'paymentDate'] as const).map((property) => ({
    schema: 'InvoiceInformationV3',
    property,
    change: 'drop-format' as const,
    reason: 'docs/decisions.md#s11: the pattern says YYYY-MM-DD, the format date-time; accept either.',
  })),
  // Tightening, not relaxing: the engine switches exhaustively on these two (types.ts narrows
  // them). An unknown status must stop at the boundary with a clear error.
  {
    schema: 'ExportJobV3',
    property: 'status',
    change: 'enum-from',
    enumSchema: 'ExportJobStatus',
    reason: 'docs/decisions.md#s3: a plain string in the spec; the described values are ExportJobStatus.',
  },
  {
    schema: 'ExportJobItemV3',
    property: 'status',
    change: 'enum-from',
    enumSchema: 'ExportJobItemStatus',
    reason: 'docs/decisions.md#s3: a plain string in the spec; the described values are ExportJobItemStatus.',
  },
]);

/**
 * Returns a relaxed deep copy of the spec's component schemas:
 * 1. every `nullable: true` schema with an `enum` gets `null` added to the enum (OpenAPI 3.0
 *    intends `nullable` to widen the enum; Ajv requires `null` to be listed);
 * 2. the {@link SPEC_ADJUSTMENTS}.
 */
export function relaxSpecSchemas(schemas: Readonly<JsonObject>): JsonObject {
  const copy = structuredClone(schemas) as Record<string, JsonObject>;
  (function walk(node: unknown): void {
    if (Array.isArray(node)) {
      node.forEach(walk);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    const record = node as JsonObject;
    if (record['nullable'] === true && Array.isArray(record['enum']) && !record['enum'].includes(null)) {
      record['enum'] = [...(record['enum'] as unknown[]), null];
    }
    Object.values(record).forEach(walk);
  })(copy);

  for (const adjustment of SPEC_ADJUSTMENTS) {
    const properties = copy[adjustment.schema]?.['properties'] as Record<string, JsonObject> | undefined;
    const property = properties?.[adjustment.property];
    if (property === undefined) {
      throw new Error(
        `spec adjustment targets a missing property ${adjustment.schema}.${adjustment.property}`,
      );
    }
    switch (adjustment.change) {
      case 'nullable':
        property['nullable'] = true;
        break;
      case 'drop-length':
        delete property['minLength'];
        delete property['maxLength'];
        break;
      case 'drop-format':
        delete property['format'];
        break;
      case 'enum-from': {
        const values = copy[adjustment.enumSchema ?? '']?.['enum'];
        if (!Array.isArray(values))
          throw new Error(`spec adjustment: ${String(adjustment.enumSchema)} has no enum`);
        property['enum'] = [...(values as unknown[])];
        break;
      }
      default: {
        const exhaustive: never = adjustment.change;
        throw new Error(`unknown spec adjustment ${String(exhaustive)}`);
      }
    }
  }
  return copy;
}

const SPEC_ID = 'pleo-export-v3-relaxed';
let ajv: Ajv | undefined;
const validators = new Map<ResponseSchemaName, ValidateFunction>();

function validatorFor(name: ResponseSchemaName): ValidateFunction {
  let validate = validators.get(name);
  if (validate === undefined) {
    if (ajv === undefined) {
      // strict: false — the spec carries OpenAPI keywords (example, nullable, x-*) Ajv does not know.
      ajv = new Ajv({ strict: false, allErrors: true });
      addFormats(ajv);
      ajv.addSchema({ components: { schemas: relaxSpecSchemas(spec.components.schemas) } }, SPEC_ID);
    }
    validate = ajv.compile({ $ref: `${SPEC_ID}#/components/schemas/${name}` });
    validators.set(name, validate);
  }
  return validate;
}

const MAX_REPORTED_ERRORS = 3;

function describeAjvError(error: ErrorObject): string {
  const where = error.instancePath === '' ? '(root)' : error.instancePath;
  return `${where} ${error.message ?? 'is invalid'}`;
}

/**
 * Checks `value` against the named response schema and returns it typed, or throws a
 * {@link MalformedResponseError} naming the operation and the first few violations.
 */
export function validateResponse<T>(
  name: ResponseSchemaName,
  value: unknown,
  context: { operation: string; method: string; path: string; status?: number },
): T {
  const validate = validatorFor(name);
  if (validate(value)) return value as T;
  const errors = validate.errors ?? [];
  const shown = errors.slice(0, MAX_REPORTED_ERRORS).map(describeAjvError).join('; ');
  const more =
    errors.length > MAX_REPORTED_ERRORS ? ` … and ${errors.length - MAX_REPORTED_ERRORS} more` : '';
  throw new MalformedResponseError(
    `${context.method} ${context.path} (${context.operation}) returned a body that does not match ${name}: ${shown}${more}`,
    {
      code: 'MALFORMED_RESPONSE',
      retryable: false,
      method: context.method,
      path: context.path,
      ...(context.status === undefined ? {} : { status: context.status }),
    },
  );
}

/** Schemas of the spec that are plain string enums and that the data layer's fields name in prose. */
export type SpecEnumName =
  | 'ExportItemTypeV3'
  | 'ExportItemSubTypeV3'
  | 'BookkeepingMethodV3'
  | 'TaxTypeV3'
  | 'InvoiceInformationStatusV3';

const specEnums = new Map<SpecEnumName, ReadonlySet<string>>();

/**
 * The values of the spec's enum schema `name`, read from the generated spec (never copied by hand,
 * so an enum Pleo extends is picked up by `npm run generate`). The spec types several export item
 * fields (`type`, `subType`, `bookkeeping.method`, `tax.type`) as plain strings that "can be one of"
 * these (docs/decisions.md#s3); the accounting layer checks them per item with this.
 */
export function specEnumValues(name: SpecEnumName): ReadonlySet<string> {
  let values = specEnums.get(name);
  if (values === undefined) {
    const schema = (spec.components.schemas as Record<string, { enum?: unknown[] }>)[name];
    if (!Array.isArray(schema?.enum)) throw new Error(`the spec has no enum schema ${name}`);
    values = new Set(schema.enum.filter((v): v is string => typeof v === 'string'));
    specEnums.set(name, values);
  }
  return values;
}
