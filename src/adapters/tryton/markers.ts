/**
 * How an entry is found again in Tryton without an idempotency key: its `accountingEntryId` is the
 * first word of the `description` of the move (or supplier invoice) that holds it, behind a marker
 * that also says how far the write got:
 *
 * - `pleo-pending:<id> …` written, receipts and postings may still be missing (never reported);
 * - `pleo:<id> …`         complete, left as a draft;
 * - `pleo-posted:<id> …`  complete once Tryton's state is `posted` (it is posted right after);
 * - `pleo-settlement:<id> …` the payment half of an accounts-payable card purchase (a move next
 *   to the supplier invoice; written before the invoice is marked complete).
 *
 * `search_read` matches the prefix with `like`; the exact key is then compared on our side, so a
 * key that is a prefix of another key never matches it.
 */
export type Marker = 'pending' | 'draft' | 'posted' | 'settlement';

const PREFIX: Record<Marker, string> = {
  pending: 'pleo-pending:',
  draft: 'pleo:',
  posted: 'pleo-posted:',
  settlement: 'pleo-settlement:',
};

/** Keys are Pleo ids: letters, digits, `-`, `.` (no `like` wildcards, no spaces). */
export const KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9.-]{0,127}$/;

export function described(marker: Marker, key: string, text: string): string {
  const clean = text.replace(/\s+/g, ' ').trim();
  return clean === '' ? `${PREFIX[marker]}${key}` : `${PREFIX[marker]}${key} ${clean}`;
}

/** The search domain that finds every description carrying `key` behind any of `markers`. */
export function keyDomain(key: string, markers: readonly Marker[]): unknown[] {
  return [
    'OR',
    ...markers.flatMap((m) => [
      ['description', '=', `${PREFIX[m]}${key}`],
      ['description', 'like', `${PREFIX[m]}${key} %`],
    ]),
  ];
}

/** The marker and key of a description, or null when it carries none. */
export function parseDescription(description: unknown): { marker: Marker; key: string } | null {
  if (typeof description !== 'string') return null;
  const m = /^(pleo|pleo-pending|pleo-posted|pleo-settlement):(\S+)(?: |$)/.exec(description);
  if (!m?.[1] || m[2] === undefined) return null;
  const marker: Marker = m[1] === 'pleo' ? 'draft' : (m[1].slice('pleo-'.length) as Exclude<Marker, 'draft'>);
  return { marker, key: m[2] };
}
