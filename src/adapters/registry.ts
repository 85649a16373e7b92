/**
 * The adapter registry: the one list of accounting systems pleo-export can book into. The
 * configuration's `adapter` union, the CLI's `--adapter` and `demo --target` choices, `check`, the
 * runtime's wiring and the scaled-out mode's refusal of single-writer adapters are all derived
 * from it, so adding an adapter is one folder (`adapters/<system>/`, exporting an
 * `AdapterDescriptor`) plus one line in `BUILT_IN` below.
 *
 * @example
 * const descriptor = requireAdapter(company.adapter.type);
 * const adapter = await descriptor.create(company.adapter, deps);
 */
import { z } from 'zod';

import { ConfigError } from '../errors/index.js';
import { configFieldKinds, type ConfigFieldKinds } from './config-fields.js';
import type { AdapterDescriptor, AdapterKeyValue } from './descriptor.js';
import { hledgerAdapter } from './hledger/descriptor.js';
import { httpAdapter } from './http/descriptor.js';
import { datevDescriptor } from './datev/index.js';
import { trytonDescriptor } from './tryton/index.js';
import { xeroDescriptor } from './xero/index.js';

/**
 * The adapters pleo-export ships, one line each (plus its import). The order is the order of the
 * CLI's choices and of the union's error message.
 */
const BUILT_IN: readonly AdapterDescriptor[] = [
  hledgerAdapter, // the default: a journal file, nothing to install
  httpAdapter,
  trytonDescriptor,
  xeroDescriptor,
  datevDescriptor,
];

/** A parsed `adapter` block: its `type` selects the descriptor whose schema validated the rest. */
export interface AdapterConfig {
  readonly type: string;
  readonly [key: string]: unknown;
}

const TYPE = /^[a-z][a-z0-9-]{0,39}$/;

const registered = new Map<string, { descriptor: AdapterDescriptor; fields: ConfigFieldKinds }>();
let union: z.ZodType<AdapterConfig> | undefined;

function add(descriptor: AdapterDescriptor): void {
  const type = descriptor.type;
  if (!TYPE.test(type))
    throw new TypeError(`adapter type "${type}" must be lower-case letters, digits and dashes`);
  if (registered.has(type)) throw new TypeError(`an adapter with type "${type}" is already registered`);
  // The configuration union discriminates on `type`: each schema must be an object whose `type` is
  // exactly the descriptor's literal, or zod would only find out at the first parse.
  const schema: unknown = descriptor.configSchema;
  const typeField =
    schema instanceof z.ZodObject ? (schema.shape as Record<string, unknown>)['type'] : undefined;
  if (!(typeField instanceof z.ZodLiteral) || typeField.values.size !== 1 || !typeField.values.has(type)) {
    throw new TypeError(`adapter "${type}": configSchema must be a z.object with type: z.literal("${type}")`);
  }
  registered.set(type, { descriptor, fields: configFieldKinds(descriptor.configSchema) });
  union = undefined;
}

for (const descriptor of BUILT_IN) add(descriptor);

/**
 * Registers an adapter beyond the built-in ones (an embedding program, a test). Returns a function
 * that removes it again. Throws when the type is taken or the schema cannot join the union.
 */
export function registerAdapter(descriptor: AdapterDescriptor): () => void {
  add(descriptor);
  return () => {
    if (registered.get(descriptor.type)?.descriptor === descriptor) {
      registered.delete(descriptor.type);
      union = undefined;
    }
  };
}

/** The registered adapter types, built-in ones first. */
export function adapterTypes(): string[] {
  return [...registered.keys()];
}

/** All registered descriptors, built-in ones first. */
export function adapterDescriptors(): AdapterDescriptor[] {
  return [...registered.values()].map((r) => r.descriptor);
}

export function findAdapter(type: string): AdapterDescriptor | undefined {
  return registered.get(type)?.descriptor;
}

/** `"hledger", "http" or "xero"`. */
export function describeAdapterTypes(types: readonly string[] = adapterTypes()): string {
  const quoted = types.map((t) => `"${t}"`);
  return quoted.length <= 1
    ? (quoted[0] ?? 'none')
    : `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1] ?? ''}`;
}

/** The descriptor of `type`, or a `ConfigError` listing the registered types. */
export function requireAdapter(type: string): AdapterDescriptor {
  const found = findAdapter(type);
  if (!found) throw new ConfigError(`Unknown adapter type "${type}": expected ${describeAdapterTypes()}`);
  return found;
}

/** Which keys of a `type` block are secrets and which are paths (see `config-fields.ts`). */
export function adapterFieldKinds(type: string): ConfigFieldKinds {
  const found = registered.get(type);
  if (!found) throw new ConfigError(`Unknown adapter type "${type}": expected ${describeAdapterTypes()}`);
  return found.fields;
}

/**
 * The configuration's `adapter` block: a union of the registered schemas discriminated by `type`,
 * rebuilt when the registry changes. An unknown type reads "expected an adapter with type "hledger"
 * or "http"".
 */
export function adapterConfigSchema(): z.ZodType<AdapterConfig> {
  if (union === undefined) {
    const types = adapterTypes();
    const options = adapterDescriptors().map((d) => d.configSchema) as unknown as [
      z.ZodObject,
      ...z.ZodObject[],
    ];
    union = z.discriminatedUnion('type', options, {
      error: `expected an adapter with type ${describeAdapterTypes(types)}`,
    }) as unknown as z.ZodType<AdapterConfig>;
  }
  return union;
}

/**
 * The schema of the configuration's `adapter` block: it parses with `adapterConfigSchema()` of the
 * moment, so an adapter registered after the configuration schema was built (an embedding program,
 * a test) is accepted too. Issues keep their paths (`companies[0].adapter.url`).
 */
export function adapterBlockSchema(): z.ZodType<AdapterConfig, unknown> {
  return z.unknown().transform((value, ctx) => {
    const parsed = adapterConfigSchema().safeParse(value);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) ctx.issues.push(issue as (typeof ctx.issues)[number]);
    return z.NEVER;
  });
}

/**
 * The key-value records an adapter of `type` may keep for `companyId` (e.g. rotating OAuth tokens),
 * over the store's `getValue`/`setValue`: every key becomes `adapter:<type>:<companyId>:<key>`, so
 * adapters and companies never read each other's records, nor the engine's own.
 */
export function adapterKeyValue(store: AdapterKeyValue, type: string, companyId: string): AdapterKeyValue {
  const prefix = `adapter:${type}:${companyId}:`;
  const full = (key: string): string => {
    if (key.length === 0) throw new TypeError('an adapter key-value key must not be empty');
    return `${prefix}${key}`;
  };
  return {
    getValue: (key) => Promise.resolve().then(() => store.getValue(full(key))),
    setValue: (key, value) => Promise.resolve().then(() => store.setValue(full(key), value)),
  };
}
