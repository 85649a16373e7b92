/**
 * Every documented default and limit matches the one source, the schema's fields (issue 18: the
 * code said "@default 8" for a download concurrency of 32). Checked: the README's settings table
 * (complete: every setting with a default has a row), its other key/default tables and inline
 * mentions such as "`postgres.heartbeatSeconds` (30)", and every `@default` on a setting in the
 * modules that define settings.
 */
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { clientSettings, compileClientOptions, DEFAULT_BASE_URL } from '../../src/client/index.js';
import { configSchema } from '../../src/config/index.js';
import { engineNumbers } from '../../src/engine/compile.js';
import { queueSettings } from '../../src/queue/index.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const source = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

interface Setting {
  readonly default: unknown;
  /** The field without its default: its limits. */
  readonly field: z.ZodType;
}

function unwrap(field: z.ZodType): z.ZodType {
  let current = field;
  while (
    current instanceof z.ZodDefault ||
    current instanceof z.ZodPrefault ||
    current instanceof z.ZodOptional
  ) {
    current = current.unwrap() as z.ZodType;
  }
  return current;
}

/** Every field of `shape` (nested objects and arrays of objects too) that has a default, by path. */
function settingsOf(shape: Record<string, z.ZodType>, prefix = ''): Map<string, Setting> {
  const out = new Map<string, Setting>();
  for (const [key, field] of Object.entries(shape)) {
    let inner = unwrap(field);
    if (inner instanceof z.ZodArray) inner = unwrap(inner.element as z.ZodType);
    if (inner instanceof z.ZodObject) {
      for (const [path, setting] of settingsOf(inner.shape, `${prefix}${key}.`)) out.set(path, setting);
    } else if (field instanceof z.ZodDefault) {
      out.set(`${prefix}${key}`, { default: field.def.defaultValue, field: inner });
    }
  }
  return out;
}

const config = settingsOf(configSchema.shape);
/**
 * The settings table's rows: every scalar setting outside `companies` (a company's accounting
 * block is documented under "Accounting").
 */
const scalar = [...config]
  .filter(([key, s]) => typeof s.default !== 'object' && !key.startsWith('companies.'))
  .map(([key]) => key);

describe('the README settings table', () => {
  const start = README.indexOf('| setting | default | allowed |');
  const rows = README.slice(start)
    .split('\n')
    .slice(2)
    .filter((line, i, all) => line.startsWith('|') && all.slice(0, i).every((l) => l.startsWith('|')));
  const table = new Map(
    rows.map((row) => {
      const [key = '', def = '', allowed = ''] = row
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim());
      return [key.replace(/`/g, ''), { def, allowed }] as const;
    }),
  );

  it('lists every setting that has a default, and nothing else', () => {
    expect(start).toBeGreaterThan(-1);
    expect([...table.keys()].sort()).toEqual([...scalar].sort());
  });

  it.each(scalar)('%s: default and limits', (key) => {
    const setting = config.get(key)!;
    const row = table.get(key)!;
    expect(row.def.match(/^`([^`]*)`/)?.[1], 'default').toBe(String(setting.default));
    const field = setting.field;
    if (field instanceof z.ZodNumber) {
      const [min, max] = row.allowed.split('–').map((n) => Number(n.replace(/,/g, '')));
      expect({ min, max }, 'limits').toEqual({ min: field.minValue, max: field.maxValue });
    }
    if (field instanceof z.ZodEnum) expect(row.allowed.split(', ')).toEqual(field.options);
  });
});

describe('other defaults the README states', () => {
  it('key/default tables (e.g. the `postgres.` keys)', () => {
    const checked: string[] = [];
    for (const [table] of README.matchAll(/(?:^\|.*\n)+/gm)) {
      const [header = '', , ...rows] = table.trim().split('\n');
      const cells = header.split('|').map((c) => c.trim());
      if (!/key/.test(cells[1] ?? '') || cells[2] !== 'default') continue;
      const prefix = cells[1]?.match(/`([\w.]+\.)`/)?.[1] ?? '';
      for (const row of rows) {
        const [keys = '', defaults = ''] = row
          .split('|')
          .slice(1)
          .map((c) => c.trim());
        if (defaults === '—') continue;
        const names = [...keys.matchAll(/`(\w+)`/g)].map((m) => `${prefix}${m[1]}`);
        const values = defaults.split(', ').map((v) => v.replace(/`/g, ''));
        expect(values).toHaveLength(names.length);
        names.forEach((name, i) => {
          expect(config.has(name), name).toBe(true);
          expect(values[i], name).toBe(String(config.get(name)?.default));
          checked.push(name);
        });
      }
    }
    expect(checked).toContain('postgres.heartbeatSeconds');
  });

  it('inline: "`key` (N)", "`key`, default `V`" and "`key` (default N minutes)"', () => {
    const units: Record<string, number> = {
      s: 1000,
      minute: 60_000,
      minutes: 60_000,
      KiB: 1024,
      MiB: 1024 ** 2,
    };
    const pattern =
      /`((?:pleo|engine|server|audit|log|postgres)\.[\w.]+)`(?: \(|, )(?:default )?(`[^`]+`|\d[\d,]*)(?: (s|minutes?|KiB|MiB)\b)?/g;
    const found = [...README.matchAll(pattern)];
    expect(found.length).toBeGreaterThan(5);
    for (const [text, key = '', raw = '', unit] of found) {
      const setting = config.get(key);
      expect(setting, text).toBeDefined();
      const value = raw.startsWith('`')
        ? raw.slice(1, -1)
        : Number(raw.replace(/,/g, '')) * (unit ? units[unit]! : 1);
      expect(String(value), text).toBe(String(setting?.default));
    }
  });
});

/** `@default` values written before `key:` in a source file (JSDoc on a schema field). */
function documentedDefaults(path: string): [key: string, text: string][] {
  return [...source(path).matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*(\w+)\??\s*:/g)].flatMap(
    ([, doc = '', key = '']) => {
      const text = doc.match(/@default\s+([^\n]*?)\s*(?:\*\/|\n|$)/)?.[1];
      return text === undefined ? [] : [[key, text] as [string, string]];
    },
  );
}

/** The literal at the start of a `@default` text, or undefined when it is prose. */
function literal(text: string): unknown {
  const match = text.match(/^(-?\d+|'[^']*'|true|false|\[[^\]]*\]|\{[^}]*\})(?:\s|$)/)?.[1];
  if (match === undefined) return undefined;
  const json = match.replace(/'/g, '"').replace(/([{,]\s*)(\w+):/g, '$1"$2":');
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return undefined;
  }
}

describe('@default in the code', () => {
  const defaultsByKey = (settings: Map<string, Setting>) => {
    const out = new Map<string, unknown[]>();
    for (const [path, s] of settings) {
      const key = path.split('.').at(-1)!;
      out.set(key, [...(out.get(key) ?? []), s.default]);
    }
    return out;
  };
  const fields = (shape: Record<string, z.ZodType>) => defaultsByKey(settingsOf(shape));
  const client = compileClientOptions({
    companyId: '0b7e6f5a-1c2d-4e3f-8a9b-0c1d2e3f4a5b',
    auth: { kind: 'apiKey', apiKey: 'k' },
  });

  /** Per file: where its documented settings' defaults come from; the keys documented in prose. */
  const files: [path: string, sources: Map<string, unknown[]>, prose: string[]][] = [
    ['src/config/schema.ts', fields(configSchema.shape), ['adapter', 'secrets']],
    [
      'src/client/options.ts',
      new Map([
        ...fields(clientSettings),
        ['baseUrl', [DEFAULT_BASE_URL]],
        ['rateLimit', [client.rateLimit]],
      ]),
      ['burst'],
    ],
    ['src/engine/compile.ts', fields(engineNumbers.shape), []],
    ['src/queue/work-queue.ts', fields(queueSettings), []],
  ];

  it.each(files)('%s', (path, sources, prose) => {
    const docs = documentedDefaults(path).filter(([key]) => sources.has(key) || path.includes('config/'));
    expect(docs.length).toBeGreaterThan(2);
    for (const [key, text] of docs) {
      if (prose.includes(key)) continue;
      const value = literal(text);
      expect(value, `${path}: ${key} @default ${text} is not a value`).toBeDefined();
      expect(sources.get(key) ?? [], `${path}: ${key} @default ${text}`).toContainEqual(value);
    }
  });
});
