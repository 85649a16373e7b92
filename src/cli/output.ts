/**
 * Terminal output: tables for people, JSON for scripts.
 *
 * Text from Pleo and the accounting system is untrusted (issue 17): an ESC in a supplier name must
 * not recolour, move the cursor or retitle the terminal, a bidi override must not reorder what the
 * operator reads. Every table cell and every line written to stdout/stderr goes through
 * {@link terminalText}, which shows each control character as a visible `\u001b`-style escape.
 * That form is also a JSON string escape, so `--json` output means exactly what it did.
 */
import Table from 'cli-table3';

import { CONTROL_CHARACTERS } from '../accounting/index.js';

const CONTROLS_OR_LONE_SURROGATE = new RegExp(
  `${CONTROL_CHARACTERS.source}|[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]`,
  'gu',
);

const escapeCharacter = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * `text` safe for a terminal: every control character (C0 including tab and CR, DEL, C1, bidi
 * controls, U+2028/2029) and every lone surrogate shown as `\uXXXX`. With `keepNewlines`, `\n`
 * stays a line break (a table's rows, several lines in one write).
 */
export function terminalText(text: string, options: { keepNewlines?: boolean } = {}): string {
  if (!options.keepNewlines) return text.replace(CONTROLS_OR_LONE_SURROGATE, escapeCharacter);
  return text
    .split('\n')
    .map((line) => line.replace(CONTROLS_OR_LONE_SURROGATE, escapeCharacter))
    .join('\n');
}

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  isTTY: boolean;
  /**
   * The engine's waits between retries of the accounting system (in-process tests pass one that
   * returns at once). @default a real timer
   */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export const processIo: Io = {
  out: (line) => process.stdout.write(`${terminalText(line, { keepNewlines: true })}\n`),
  err: (line) => process.stderr.write(`${terminalText(line, { keepNewlines: true })}\n`),
  isTTY: process.stdout.isTTY === true,
};

/** A table cell: a value on one line, or several lines (an array, one line each). */
export type Cell = string | number | null | undefined | readonly string[];

function cellText(cell: Cell): string {
  if (cell === null || cell === undefined) return '';
  if (typeof cell === 'string' || typeof cell === 'number') return terminalText(String(cell));
  return cell.map((line) => terminalText(line)).join('\n');
}

/** A table for people; every cell escaped with {@link terminalText} (line breaks only between array lines). */
export function table(head: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const t = new Table({ head: head.map((h) => terminalText(h)), style: { head: [], border: [] } });
  for (const row of rows) t.push(row.map(cellText));
  return t.toString();
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

export function shorten(text: string | null | undefined, max = 60): string {
  if (text === null || text === undefined) return '';
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
