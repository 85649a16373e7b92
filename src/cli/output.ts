/** Terminal output: tables for people, JSON for scripts. */
import Table from 'cli-table3';

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  isTTY: boolean;
}

export const processIo: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  isTTY: process.stdout.isTTY === true,
};

export function table(
  head: readonly string[],
  rows: readonly (readonly (string | number | null | undefined)[])[],
): string {
  const t = new Table({ head: [...head], style: { head: [], border: [] } });
  for (const row of rows)
    t.push(row.map((cell) => (cell === null || cell === undefined ? '' : String(cell))));
  return t.toString();
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

export function shorten(text: string | null | undefined, max = 60): string {
  if (text === null || text === undefined) return '';
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
