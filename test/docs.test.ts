/**
 * The project's knowledge lives in the repository: every reference to `docs/…` (and to
 * `BENCHMARKS.md#…`) in the sources, tests, benchmarks, scripts and README resolves to an existing
 * file and heading or anchor, the links between the docs resolve too, and no bare section-sign
 * reference to a document outside the repository remains (an RFC's section is fine: it names its
 * document).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const SECTION = '\u00a7';
const SCANNED = ['src', 'test', 'bench', 'scripts'];
const EXTENSIONS = /\.(ts|mjs|js|md)$/;
const SKIPPED = /^(src\/generated|node_modules|dist)(\/|$)/;

function files(): string[] {
  const found = ['README.md'];
  for (const dir of SCANNED) {
    for (const entry of readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })) {
      const path = `${dir}/${entry}`;
      if (SKIPPED.test(path) || !EXTENSIONS.test(path) || !statSync(join(ROOT, path)).isFile()) continue;
      found.push(path);
    }
  }
  return found;
}

/** GitHub's heading slug: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .replace(/<[^>]*>/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors a markdown file defines: `<a id="…">` and the slugs of its headings. */
function anchors(path: string): Set<string> {
  const text = readFileSync(join(ROOT, path), 'utf8');
  const result = new Set<string>();
  for (const m of text.matchAll(/<a id="([^"]+)"><\/a>/g)) result.add(m[1]!);
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const heading = /^#{1,6} (.+)$/.exec(line);
    if (fenced || heading === null) continue;
    const base = slug(heading[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    result.add(n === 0 ? base : `${base}-${n}`);
  }
  return result;
}

interface Reference {
  where: string;
  target: string;
  anchor: string | undefined;
}

const DOCS = readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md'));

function references(): Reference[] {
  const found: Reference[] = [];
  for (const path of files()) {
    const lines = readFileSync(join(ROOT, path), 'utf8').split('\n');
    lines.forEach((line, i) => {
      const where = `${path}:${i + 1}`;
      for (const m of line.matchAll(/\bdocs\/([\w-]+\.md)(?:#([\w-]+))?/g)) {
        found.push({ where, target: `docs/${m[1]}`, anchor: m[2] });
      }
      for (const m of line.matchAll(/\bBENCHMARKS\.md#([\w-]+)/g)) {
        found.push({ where, target: 'BENCHMARKS.md', anchor: m[1] });
      }
    });
  }
  // Relative links between the docs (`[C2](decisions.md#c2)`, `[BENCHMARKS.md](../BENCHMARKS.md)`).
  for (const name of DOCS) {
    const lines = readFileSync(join(ROOT, 'docs', name), 'utf8').split('\n');
    lines.forEach((line, i) => {
      for (const m of line.matchAll(/\]\(((?:\.\.\/)?[\w-]*\.md)?(?:#([\w-]+))?\)/g)) {
        const file = m[1] ?? name;
        found.push({
          where: `docs/${name}:${i + 1}`,
          target: file.startsWith('../') ? file.slice(3) : `docs/${file}`,
          anchor: m[2],
        });
      }
    });
  }
  return found;
}

describe('documentation references', () => {
  const refs = references();

  it('the docs exist and the sources cite them', () => {
    expect(DOCS).toEqual(expect.arrayContaining(['architecture.md', 'decisions.md']));
    expect(refs.filter((r) => r.target === 'docs/decisions.md').length).toBeGreaterThan(50);
  });

  it('every reference resolves to an existing file and heading or anchor', () => {
    const cache = new Map<string, Set<string> | null>();
    const broken: string[] = [];
    for (const ref of refs) {
      if (!cache.has(ref.target)) {
        cache.set(ref.target, existsSync(join(ROOT, ref.target)) ? anchors(ref.target) : null);
      }
      const known = cache.get(ref.target);
      if (known === null || known === undefined) broken.push(`${ref.where}: ${ref.target} does not exist`);
      else if (ref.anchor !== undefined && !known.has(ref.anchor)) {
        broken.push(`${ref.where}: ${ref.target}#${ref.anchor} has no such heading or anchor`);
      }
    }
    expect(broken).toEqual([]);
  });

  it(`no bare ${SECTION} reference remains (only an RFC's sections are cited that way)`, () => {
    const bare: string[] = [];
    for (const path of files()) {
      readFileSync(join(ROOT, path), 'utf8')
        .split('\n')
        .forEach((line, i) => {
          const rest = line.replace(new RegExp(`RFC \\d+ ${SECTION}[\\d.]+`, 'g'), '');
          if (rest.includes(SECTION)) bare.push(`${path}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(bare).toEqual([]);
  });

  it('no reference points at the documents outside the repository', () => {
    // Built from parts so that this file does not match itself.
    const outside = new RegExp(
      ['shared[/]docs/', 'pleo-export-workflow[.]md', `NOTES(?:[.]md)? ${SECTION}`, 'workflow[ ]doc\\b'].join(
        '|',
      ),
    );
    const found = files().flatMap((path) =>
      readFileSync(join(ROOT, path), 'utf8')
        .split('\n')
        .flatMap((line, i) => (outside.test(line) ? [`${path}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(found).toEqual([]);
  });

  it('the slugs follow GitHub', () => {
    expect(slug('The contradiction table')).toBe('the-contradiction-table');
    expect(slug('Found by profiling, and fixed')).toBe('found-by-profiling-and-fixed');
    expect(slug('The exactly-once protocol')).toBe('the-exactly-once-protocol');
    expect(slug("Decisions where Pleo's documentation contradicts itself")).toBe(
      'decisions-where-pleos-documentation-contradicts-itself',
    );
  });
});
