/**
 * Building blocks for an adapter's configuration block (`AdapterDescriptor.configSchema`), so every
 * adapter spells URLs, numbers, secrets and file paths the way the rest of the configuration does.
 *
 * Two kinds of field need the configuration loader's help, and are marked for it here:
 * - a **secret** (`secretField('token')`) is written three ways: inline (`token`), from the
 *   environment (`tokenEnv: NAME`) or from a file (`tokenFile: PATH`, e.g. a mounted credential).
 *   `config/load` resolves it before the adapter is created: the adapter only ever reads `token`
 *   (the `…Env`/`…File` keys are gone), and `config --print` masks it;
 * - a **path** (`pathField()`) is relative to the configuration file's folder; `config/load`
 *   makes it absolute.
 *
 * The marks live in a zod registry keyed by the field's schema object, so they survive
 * `.strict()`, `.extend()` and `.refine()` on the adapter's object.
 */
import { z } from 'zod';

type FieldKind = { kind: 'secret'; key: string } | { kind: 'path' };

const fieldKinds = z.registry<FieldKind>();

const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected an environment variable name' });

/** An `http(s)://host…` URL. */
export const httpUrlField = z
  .string({ error: 'expected a URL' })
  .regex(/^https?:\/\/[^\s/]+/, { error: 'expected an http(s) URL like https://erp.example.com' });

/** A whole number from 1 to `max`. */
export function positiveIntField(max: number): z.ZodNumber {
  return z
    .number({ error: 'expected a number' })
    .int({ error: 'expected a whole number' })
    .min(1, { error: 'expected a number ≥ 1' })
    .max(max, { error: `expected a number ≤ ${max}` });
}

/**
 * The three spellings of one secret, to spread into an adapter's `z.object({...})`:
 * `{ ...secretField('token') }` adds `token`, `tokenEnv` and `tokenFile` (all optional; whether
 * one is required is the adapter's call, in `create` or `check`).
 */
export function secretField<K extends string>(
  key: K,
): { [P in K | `${K}Env` | `${K}File`]: z.ZodOptional<z.ZodString> } {
  const inline = z.string().min(1).optional();
  fieldKinds.add(inline, { kind: 'secret', key });
  return {
    [key]: inline,
    [`${key}Env`]: envName.optional(),
    [`${key}File`]: z.string().min(1).optional(),
  } as { [P in K | `${K}Env` | `${K}File`]: z.ZodOptional<z.ZodString> };
}

/** A file or folder path, relative to the configuration file's folder. */
export function pathField(): z.ZodString {
  const path = z.string({ error: 'expected a file path' }).min(1, { error: 'expected a file path' });
  fieldKinds.add(path, { kind: 'path' });
  return path;
}

/** The keys of an adapter configuration block the loader resolves: its secrets and its paths. */
export interface ConfigFieldKinds {
  readonly secrets: readonly string[];
  readonly paths: readonly string[];
}

/** Reads the marks of `secretField`/`pathField` off an adapter's configuration schema. */
export function configFieldKinds(schema: z.ZodType): ConfigFieldKinds {
  const secrets: string[] = [];
  const paths: string[] = [];
  if (schema instanceof z.ZodObject) {
    const shape: Record<string, z.ZodType> = schema.shape;
    for (const [key, field] of Object.entries(shape)) {
      const kind = fieldKinds.get(field) ?? fieldKinds.get(unwrap(field));
      if (kind?.kind === 'secret' && kind.key === key) secrets.push(key);
      if (kind?.kind === 'path') paths.push(key);
    }
  }
  return Object.freeze({ secrets: Object.freeze(secrets), paths: Object.freeze(paths) });
}

/** `pathField().optional()` and `.default()` wrap the marked schema: look through them. */
function unwrap(field: z.ZodType): z.ZodType {
  let current: z.ZodType = field;
  while (
    current instanceof z.ZodOptional ||
    current instanceof z.ZodDefault ||
    current instanceof z.ZodNullable
  ) {
    current = current.unwrap() as z.ZodType;
  }
  return current;
}
