/**
 * Cursor pagination exactly as the spec's `CursorPageInfo` describes it (docs/decisions.md#w3).
 *
 * Terminology:
 * - position: an index into the ordered result set of one query (0 = first in the chosen order).
 * - key: the value a cursor stores. It is monotonic in position (`direction` says which way),
 *   so a cursor still points at the right place after rows were added or left a filter.
 * - fingerprint: a canonical string naming the query (operation, scope, filters, sorting).
 *   A cursor carries a truncated HMAC over fingerprint + key, so a cursor from another query,
 *   a tampered cursor or garbage is rejected with 400 `bad_request`.
 *
 * Rules (documented decisions where the spec is silent):
 * - `after=<endCursor>` gives the next page; `before=<startCursor>` the previous one.
 * - `before`, `after` and `offset` are mutually exclusive (400 otherwise).
 * - No `limit` → {@link PaginationConfig.defaultLimit} (100). A `limit` above the maximum page
 *   size is clamped, not rejected; `currentRequestPagination.limit` reports the limit applied.
 * - `limit=0` returns no rows but still reports `total` and `hasNextPage`.
 */
import type { components } from '../generated/export-v3.js';
import { badRequest } from './errors.js';
import { base32Decode, base32Encode, tag } from './ids.js';

type CursorPageInfo = components['schemas']['CursorPageInfo'];
type PageOrder = components['schemas']['PageOrder'];

const PAGE_ORDERS: readonly PageOrder[] = [
  'ASC',
  'ASC_NULLS_FIRST',
  'ASC_NULLS_LAST',
  'DESC',
  'DESC_NULLS_FIRST',
  'DESC_NULLS_LAST',
];
const CURSOR_RE = /^[A-Z2-7=~]+$/;
const CURSOR_VERSION = 1;

export interface PaginationConfig {
  /** @default 100 */
  defaultLimit: number;
  /** @default 1000 */
  maxPageSize: number;
  /** HMAC secret for cursors. */
  secret: string;
}

export interface PageRequest {
  after?: { key: number; raw: string };
  before?: { key: number; raw: string };
  offset?: number;
  limit: number;
  sortingKeys: string[];
  sortingOrder: PageOrder[];
  /** Every query parameter of the request, as received. */
  parameters: Record<string, string[]>;
  fingerprint: string;
}

/** The ordered result set a page is cut from. */
export interface PageSource {
  size: number;
  /** Cursor key at a position; `direction * keyAt(pos)` strictly increases with pos. */
  keyAt(pos: number): number;
  direction: 1 | -1;
  /** Whether the row at `pos` passes the query's filter (the set may be filtered lazily). */
  matches(pos: number): boolean;
}

export interface Page {
  positions: number[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

function single(query: URLSearchParams, name: string): string | undefined {
  const all = query.getAll(name);
  if (all.length > 1) throw badRequest(`Query parameter '${name}' must be given at most once`);
  return all[0];
}

function nonNegativeInt(name: string, raw: string, max: number): number {
  if (!/^\d+$/.test(raw)) throw badRequest(`Query parameter '${name}' must be an integer >= 0, got '${raw}'`);
  const n = Number(raw);
  if (n > max) throw badRequest(`Query parameter '${name}' is too large`);
  return n;
}

export function encodeCursor(key: number, fingerprint: string, secret: string): string {
  const buf = Buffer.alloc(12);
  buf[0] = CURSOR_VERSION;
  buf.writeUIntBE(key, 1, 6);
  Buffer.from(tag(secret, `${fingerprint}|${key}`, 5), 'base64url').copy(buf, 7);
  return base32Encode(buf);
}

function decodeCursor(name: string, raw: string, fingerprint: string, secret: string): number {
  const bytes = CURSOR_RE.test(raw) ? base32Decode(raw) : null;
  if (bytes?.length !== 12 || bytes[0] !== CURSOR_VERSION) {
    throw badRequest(`Invalid cursor in '${name}'`);
  }
  const buf = Buffer.from(bytes);
  const key = buf.readUIntBE(1, 6);
  const expected = Buffer.from(tag(secret, `${fingerprint}|${key}`, 5), 'base64url');
  if (!expected.equals(buf.subarray(7))) {
    throw badRequest(`Cursor in '${name}' does not belong to this query`);
  }
  return key;
}

/**
 * Reads the pagination parameters of a request.
 * @param fingerprintBase names the query apart from sorting (operation, scope, filters).
 * @param sortKeys the `sorting_keys` this operation accepts (others → 400).
 */
export function parsePageRequest(
  query: URLSearchParams,
  config: PaginationConfig,
  fingerprintBase: string,
  sortKeys: readonly string[],
): PageRequest {
  const parameters: Record<string, string[]> = {};
  for (const name of new Set(query.keys())) parameters[name] = query.getAll(name);

  const sortingKeys = query.getAll('sorting_keys');
  const sortingOrderRaw = query.getAll('sorting_order');
  for (const k of sortingKeys) {
    if (!sortKeys.includes(k)) {
      throw badRequest(
        `Unsupported sorting key '${k}'` + (sortKeys.length ? ` (supported: ${sortKeys.join(', ')})` : ''),
      );
    }
  }
  const sortingOrder = sortingOrderRaw.map((o) => {
    const found = PAGE_ORDERS.find((p) => p === o);
    if (!found) throw badRequest(`Invalid sorting_order '${o}'`);
    return found;
  });
  if (sortingOrder.length > 0 && sortingOrder.length !== sortingKeys.length) {
    throw badRequest('sorting_order must have one entry per sorting_keys entry');
  }
  const fingerprint = `${fingerprintBase}|${sortingKeys.join(',')}|${sortingOrder.join(',')}`;

  const afterRaw = single(query, 'after');
  const beforeRaw = single(query, 'before');
  const offsetRaw = single(query, 'offset');
  const limitRaw = single(query, 'limit');
  const given = [afterRaw, beforeRaw, offsetRaw].filter((v) => v !== undefined).length;
  if (given > 1) throw badRequest("'before', 'after' and 'offset' are mutually exclusive");

  const req: PageRequest = {
    limit:
      limitRaw === undefined
        ? Math.min(config.defaultLimit, config.maxPageSize)
        : Math.min(nonNegativeInt('limit', limitRaw, 2 ** 31 - 1), config.maxPageSize),
    sortingKeys,
    sortingOrder,
    parameters,
    fingerprint,
  };
  if (afterRaw !== undefined) {
    req.after = { raw: afterRaw, key: decodeCursor('after', afterRaw, fingerprint, config.secret) };
  }
  if (beforeRaw !== undefined) {
    req.before = { raw: beforeRaw, key: decodeCursor('before', beforeRaw, fingerprint, config.secret) };
  }
  if (offsetRaw !== undefined) req.offset = nonNegativeInt('offset', offsetRaw, Number.MAX_SAFE_INTEGER);
  return req;
}

/** `true` when the first sorting order is descending (used by operations that sort). */
export function isDescending(req: PageRequest): boolean {
  return req.sortingOrder[0]?.startsWith('DESC') ?? false;
}

/** First position whose key lies strictly after (`strict`) / at-or-after `key` in page order. */
function boundary(src: PageSource, key: number, strict: boolean): number {
  let lo = 0;
  let hi = src.size;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const d = src.direction * (src.keyAt(mid) - key);
    if (strict ? d > 0 : d >= 0) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function anyMatch(src: PageSource, from: number, to: number): boolean {
  for (let p = from; p < to; p++) if (src.matches(p)) return true;
  return false;
}

/** Cuts one page out of `src`. Cost: O(rows scanned), never O(rows in memory). */
export function paginate(src: PageSource, req: PageRequest): Page {
  const positions: number[] = [];
  if (req.before) {
    const end = boundary(src, req.before.key, false);
    let p = end - 1;
    for (; p >= 0 && positions.length < req.limit; p--) if (src.matches(p)) positions.push(p);
    positions.reverse();
    const first = positions[0] ?? end;
    return {
      positions,
      hasPreviousPage: anyMatch(src, 0, first),
      hasNextPage: anyMatch(src, end, src.size),
    };
  }
  let start = 0;
  if (req.after) start = boundary(src, req.after.key, true);
  else if (req.offset !== undefined) {
    let skipped = 0;
    while (start < src.size && skipped < req.offset) {
      if (src.matches(start)) skipped++;
      start++;
    }
  }
  let p = start;
  for (; p < src.size && positions.length < req.limit; p++) if (src.matches(p)) positions.push(p);
  return {
    positions,
    hasPreviousPage: anyMatch(src, 0, positions[0] ?? start),
    hasNextPage: anyMatch(src, p, src.size),
  };
}

/** The response's `pagination` object for a page. */
export function pageInfo(
  src: PageSource,
  req: PageRequest,
  page: Page,
  total: number,
  secret: string,
): CursorPageInfo {
  const current: CursorPageInfo['currentRequestPagination'] = {
    parameters: req.parameters,
    limit: req.limit,
  };
  if (req.after) current.after = req.after.raw;
  if (req.before) current.before = req.before.raw;
  if (req.offset !== undefined) current.offset = req.offset;
  if (req.sortingKeys.length) current.sortingKeys = req.sortingKeys;
  if (req.sortingOrder.length) current.sortingOrder = req.sortingOrder;
  const info: CursorPageInfo = {
    hasNextPage: page.hasNextPage,
    hasPreviousPage: page.hasPreviousPage,
    total,
    currentRequestPagination: current,
  };
  const first = page.positions[0];
  const last = page.positions[page.positions.length - 1];
  if (first !== undefined) info.startCursor = encodeCursor(src.keyAt(first), req.fingerprint, secret);
  if (last !== undefined) info.endCursor = encodeCursor(src.keyAt(last), req.fingerprint, secret);
  return info;
}
