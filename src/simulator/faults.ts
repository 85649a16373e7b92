/**
 * Fault injection. A decision is taken for every request to a Pleo path (never for `/_admin/`),
 * before the handler runs, so that every fault except `ambiguous` leaves the state untouched:
 *
 * - `status`: answers 429 (with `Retry-After`), 500, 502 or 503 without running the handler;
 * - `drop`: destroys the socket without an answer, handler not run;
 * - `slow`: runs the handler normally and trickles the body out (`chunkBytes` every
 *   `chunkDelayMs`), so the request takes effect exactly as without the fault;
 * - `latency`: waits, then handles the request normally;
 * - `ambiguous`: runs the handler (the write is applied), then destroys the socket before any
 *   byte of the answer is sent, as a network failure after the server acted would. On a read
 *   it behaves like `drop`.
 * - `hang`: never answers (the socket stays open until the client gives up: a timeout); nothing
 *   applied.
 *
 * Odd answers, well-formed HTTP that a careless client would loop on or choke on:
 * - `emptyAck`: a write answered `200 {data: [], errors: []}` without being applied (an item
 *   update that Pleo neither accepts nor rejects);
 * - `endless`: a listing page (job items, export items, jobs) answered with one more item under
 *   a fresh id and `hasNextPage: true` with a fresh cursor, every time: a listing that never ends;
 * - `oversize`: the answer is applied and padded with white space to `bytes` (a huge page).
 *
 * Sources, in order: explicit rules (first one that fires wins; `times` counts down, e.g.
 * "fail the next 3 requests to updateJobItems"), then the global `faultRate` (a seeded PRNG
 * picks whether and which fault of `faultMix`). Global latency (`latencyMs` plus a uniform
 * random `latencyJitterMs`) is added to every request.
 */
import type { Operation } from './http.js';
import { Rng } from './data/prng.js';

export type Fault =
  | { kind: 'status'; status: 429 | 500 | 502 | 503; /** @default 1 */ retryAfterSeconds?: number }
  | { kind: 'drop' }
  | { kind: 'slow'; /** @default 64 */ chunkBytes?: number; /** @default 10 */ chunkDelayMs?: number }
  | { kind: 'latency'; ms: number; /** @default 0 */ jitterMs?: number }
  | { kind: 'ambiguous' }
  | { kind: 'hang' }
  | { kind: 'emptyAck' }
  | { kind: 'endless' }
  | { kind: 'oversize'; bytes: number };

export type FaultEndpoint = Exclude<Operation, 'admin'> | '*';

/** Every name a fault rule may target. */
export const FAULT_ENDPOINTS = [
  'listJobs',
  'getJob',
  'createJob',
  'createEvent',
  'listJobItems',
  'updateJobItems',
  'listExportItems',
  'files',
  'createSubscription',
  'getSubscription',
  'deleteSubscription',
  'getSubscriptionSecret',
  'oauthAuthorize',
  'oauthToken',
  '*',
] as const satisfies readonly FaultEndpoint[];

export interface FaultRule {
  /** Operation name(s) the rule applies to, or '*'. */
  endpoint: FaultEndpoint | FaultEndpoint[];
  fault: Fault;
  /** Fire this many times, then disappear. @default unlimited */
  times?: number;
  /** Chance that a matching request is hit. @default 1 */
  probability?: number;
}

export interface FaultConfig {
  /** Fixed latency added to every request. @default 0 */
  latencyMs?: number;
  /** Extra uniform random latency in [0, latencyJitterMs). @default 0 */
  latencyJitterMs?: number;
  /** Probability that a request gets a random fault from `faultMix`. @default 0 */
  faultRate?: number;
  /** Faults `faultRate` picks from. @default 429, 500, 502, 503, drop, ambiguous */
  faultMix?: Fault[];
  rules?: FaultRule[];
}

export const DEFAULT_FAULT_MIX: readonly Fault[] = [
  { kind: 'status', status: 429, retryAfterSeconds: 1 },
  { kind: 'status', status: 500 },
  { kind: 'status', status: 502 },
  { kind: 'status', status: 503 },
  { kind: 'drop' },
  { kind: 'ambiguous' },
];

export interface FaultDecision {
  latencyMs: number;
  fault: Fault | undefined;
}

/** mulberry32: small, fast, seeded; reproducible fault sequences for a given seed. */
function prng(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}

function checkFault(f: Fault): void {
  if (f.kind === 'status' && ![429, 500, 502, 503].includes(f.status)) {
    throw new RangeError(`fault status must be 429, 500, 502 or 503, got ${String(f.status)}`);
  }
  if (f.kind === 'latency' && !(f.ms >= 0)) throw new RangeError('latency fault needs ms >= 0');
  if (f.kind === 'oversize' && !(Number.isInteger(f.bytes) && f.bytes > 0 && f.bytes <= 2 ** 30))
    throw new RangeError('oversize fault needs bytes from 1 to 2^30');
}

/** Validates a configuration (throws RangeError with a precise message). */
export function checkFaultConfig(c: FaultConfig): void {
  const rate = c.faultRate ?? 0;
  if (!(rate >= 0 && rate <= 1)) throw new RangeError(`faultRate must be within [0, 1], got ${rate}`);
  if (!((c.latencyMs ?? 0) >= 0)) throw new RangeError('latencyMs must be >= 0');
  if (!((c.latencyJitterMs ?? 0) >= 0)) throw new RangeError('latencyJitterMs must be >= 0');
  for (const f of c.faultMix ?? []) checkFault(f);
  for (const r of c.rules ?? []) {
    checkFault(r.fault);
    for (const e of Array.isArray(r.endpoint) ? r.endpoint : [r.endpoint]) {
      if (!(FAULT_ENDPOINTS as readonly string[]).includes(e)) {
        throw new RangeError(`unknown fault endpoint '${e}' (known: ${FAULT_ENDPOINTS.join(', ')})`);
      }
    }
    if (r.times !== undefined && !(Number.isInteger(r.times) && r.times >= 0)) {
      throw new RangeError('rule.times must be an integer >= 0');
    }
    const p = r.probability ?? 1;
    if (!(p >= 0 && p <= 1)) throw new RangeError('rule.probability must be within [0, 1]');
  }
}

interface LiveRule extends FaultRule {
  remaining: number;
}

export class FaultInjector {
  readonly #random: () => number;
  #config: FaultConfig = {};
  #rules: LiveRule[] = [];

  constructor(seed: number, config: FaultConfig = {}) {
    this.#random = prng(seed ^ 0x5eed);
    this.set(config);
  }

  /** Replaces the whole configuration. */
  set(config: FaultConfig): void {
    checkFaultConfig(config);
    this.#config = { ...config, rules: [] };
    this.#rules = [];
    for (const rule of config.rules ?? []) this.addRule(rule);
  }

  addRule(rule: FaultRule): void {
    checkFaultConfig({ rules: [rule] });
    this.#rules.push({ ...rule, remaining: rule.times ?? Number.POSITIVE_INFINITY });
  }

  clear(): void {
    this.set({});
  }

  /** The configuration in force (rules with their remaining counts). */
  snapshot(): FaultConfig & { rules: (FaultRule & { remaining: number | null })[] } {
    return {
      ...this.#config,
      rules: this.#rules.map((r) => ({ ...r, remaining: Number.isFinite(r.remaining) ? r.remaining : null })),
    };
  }

  decide(operation: Exclude<Operation, 'admin'>): FaultDecision {
    const c = this.#config;
    let latencyMs = (c.latencyMs ?? 0) + (c.latencyJitterMs ? this.#random() * c.latencyJitterMs : 0);
    let fault: Fault | undefined;
    for (const rule of this.#rules) {
      if (rule.remaining <= 0) continue;
      const targets = Array.isArray(rule.endpoint) ? rule.endpoint : [rule.endpoint];
      if (!targets.includes('*') && !targets.includes(operation)) continue;
      if (rule.probability !== undefined && this.#random() >= rule.probability) continue;
      rule.remaining--;
      fault = rule.fault;
      if (rule.remaining <= 0) this.#rules = this.#rules.filter((r) => r.remaining > 0);
      break;
    }
    if (!fault && c.faultRate && this.#random() < c.faultRate) {
      const mix = c.faultMix?.length ? c.faultMix : DEFAULT_FAULT_MIX;
      fault = mix[Math.floor(this.#random() * mix.length)];
    }
    if (fault?.kind === 'latency') {
      latencyMs += fault.ms + (fault.jitterMs ? this.#random() * fault.jitterMs : 0);
      fault = undefined;
    }
    return { latencyMs, fault };
  }
}

/**
 * A fault rule from its one-line spelling (the simulator's `--fault` flag):
 * `OPERATION[,OPERATION…]=KIND[:ARG][/times=N][/p=F]`, KIND one of `status:429|500|502|503`,
 * `drop`, `ambiguous`, `hang`, `slow`, `latency:MS`, `emptyAck`, `endless`, `oversize:BYTES`.
 *
 * @example parseFaultRule('updateJobItems=emptyAck/times=2')
 * @example parseFaultRule('*=status:503/p=0.2')
 */
export function parseFaultRule(text: string): FaultRule {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new RangeError(`expected OPERATION=KIND, got '${text}'`);
  const endpoint = text.slice(0, eq).split(',') as FaultEndpoint[];
  const [spec = '', ...options] = text.slice(eq + 1).split('/');
  const [kind, arg] = spec.split(':', 2) as [string, string | undefined];
  const number = (what: string, value: string | undefined): number => {
    const n = Number(value);
    if (value === undefined || value === '' || !Number.isFinite(n)) {
      throw new RangeError(`${what} needs a number, got '${value ?? ''}' in '${text}'`);
    }
    return n;
  };
  let fault: Fault;
  switch (kind) {
    case 'status':
      fault = { kind: 'status', status: number('status', arg) as 429 | 500 | 502 | 503 };
      break;
    case 'latency':
      fault = { kind: 'latency', ms: number('latency', arg) };
      break;
    case 'oversize':
      fault = { kind: 'oversize', bytes: number('oversize', arg) };
      break;
    case 'drop':
    case 'ambiguous':
    case 'hang':
    case 'slow':
    case 'emptyAck':
    case 'endless':
      fault = { kind };
      break;
    default:
      throw new RangeError(
        `unknown fault kind '${kind}' (known: status:N, drop, ambiguous, hang, slow, latency:MS, emptyAck, endless, oversize:BYTES)`,
      );
  }
  const rule: FaultRule = { endpoint: endpoint.length === 1 ? endpoint[0]! : endpoint, fault };
  for (const option of options) {
    const [key, value] = option.split('=', 2);
    if (key === 'times') rule.times = number('times', value);
    else if (key === 'p') rule.probability = number('p', value);
    else throw new RangeError(`unknown fault option '${option}' (known: times=N, p=F)`);
  }
  checkFaultConfig({ rules: [rule] });
  return rule;
}
