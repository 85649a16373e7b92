/**
 * The reference receiver with fault injection, for tests and benchmarks: the production receiver
 * (`adapters/http`, the ERP side of the HTTP accounting protocol) plus configurable latency and
 * faults, set at start, with `setFaults` or `POST /_admin/faults`:
 *
 * - fail the next N requests with a status (and do nothing);
 * - commit the next N entries and then drop the connection (the "lost response" case);
 * - hit a share of one operation's requests at random (seeded, so a run can be replayed) with a
 *   status, a reset socket, no answer at all (a timeout) or an applied request whose answer is
 *   lost (`ambiguous`).
 */
import type { IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  startReceiver,
  type Receiver,
  type ReceiverOperation,
  type ReceiverOptions,
  type ReceiverStats,
} from '../adapters/index.js';
import { Rng } from '../simulator/index.js';

export interface ReceiverFaults {
  /** Answer the next N non-admin requests with `status` (and do nothing). */
  failNext?: number;
  /** @default 503 */
  status?: number;
  /** Seconds sent as `Retry-After` with 429/503 faults. */
  retryAfterSeconds?: number;
  /** Commit the next N entry POSTs, then destroy the socket instead of answering. */
  dropAfterCommit?: number;
  /** Extra delay for the next request only (ms), e.g. to trigger a client timeout. */
  delayNextMs?: number;
  /** Random faults on one operation (or all), reproducible by `seed`. */
  random?: RandomFault;
}

export interface RandomFault {
  operation: ReceiverOperation | '*';
  /**
   * - `status`: answers `status` (with `Retry-After: retryAfterSeconds` when set), does nothing;
   * - `reset`: destroys the socket before doing anything;
   * - `hang`: never answers (the client times out), does nothing;
   * - `ambiguous`: does the work, then destroys the socket instead of answering.
   */
  kind: 'status' | 'reset' | 'hang' | 'ambiguous';
  /** @default 503 */
  status?: number;
  retryAfterSeconds?: number;
  /** Share of the operation's requests hit, 0..1. */
  probability: number;
  /** The first N requests of the operation are hit whatever the draw (so a short run sees one). @default 0 */
  first?: number;
  /** @default 1 */
  seed?: number;
}

export interface ReferenceReceiverOptions extends Omit<ReceiverOptions, 'hooks'> {
  /** Added to every non-admin request. @default 0 */
  latencyMs?: number;
  faults?: ReceiverFaults;
}

export interface ReferenceReceiverStats extends ReceiverStats {
  /** Random faults injected, per `operation:kind`. */
  injected: Record<string, number>;
}

export interface ReferenceReceiver extends Receiver {
  stats(): ReferenceReceiverStats;
  setFaults(faults: ReceiverFaults): void;
}

/** mulberry32: a small seeded PRNG, so a fault sequence can be replayed. */
function seeded(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return JSON.parse(text || '{}') as unknown;
}

/** Starts a receiver with fault injection; resolves once it listens. */
export async function startReferenceReceiver(
  options: ReferenceReceiverOptions = {},
): Promise<ReferenceReceiver> {
  const { latencyMs = 0, faults: initial, ...receiverOptions } = options;
  let faults: ReceiverFaults = { ...initial };
  let random = seeded(faults.random?.seed ?? 1);
  /** Counts of random faults injected, per `operation:kind`. */
  const injected: Record<string, number> = {};
  let seen = 0;
  const setFaults = (next: ReceiverFaults): void => {
    faults = { ...next };
    random = seeded(faults.random?.seed ?? 1);
    seen = 0;
  };

  const receiver = await startReceiver({
    ...receiverOptions,
    hooks: {
      async admin(req, res, path) {
        if (req.method !== 'POST' || path !== '/_admin/faults') return false;
        setFaults((await readJson(req)) as ReceiverFaults);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(faults));
        return true;
      },
      async before(req, res, operation) {
        const delay = latencyMs + (faults.delayNextMs ?? 0);
        faults.delayNextMs = 0;
        if (delay > 0) await sleep(delay);
        const answer = (status: number, retryAfterSeconds: number | undefined): 'handled' => {
          res.writeHead(status, {
            'content-type': 'application/json',
            ...(retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) }),
          });
          res.end(JSON.stringify({ type: 'injected_fault', message: `injected fault ${status}` }));
          return 'handled';
        };
        if ((faults.failNext ?? 0) > 0) {
          faults.failNext = (faults.failNext ?? 0) - 1;
          return answer(faults.status ?? 503, faults.retryAfterSeconds);
        }
        const chance = faults.random;
        if (
          !chance ||
          operation === null ||
          (chance.operation !== '*' && chance.operation !== operation) ||
          !(seen++ < (chance.first ?? 0) || random() < chance.probability)
        )
          return 'continue';
        injected[`${operation}:${chance.kind}`] = (injected[`${operation}:${chance.kind}`] ?? 0) + 1;
        switch (chance.kind) {
          case 'reset':
            req.socket.destroy();
            return 'handled';
          case 'hang':
            return 'handled'; // the socket stays open until the client gives up
          case 'status':
            return answer(chance.status ?? 503, chance.retryAfterSeconds);
          case 'ambiguous':
            // The work is done by the receiver, and its answer is lost.
            res.writeHead = () => res;
            res.end = () => {
              req.socket.destroy();
              return res;
            };
            return 'continue';
        }
      },
      afterCommit() {
        if ((faults.dropAfterCommit ?? 0) <= 0) return false;
        faults.dropAfterCommit = (faults.dropAfterCommit ?? 0) - 1;
        return true;
      },
    },
  });

  return {
    url: receiver.url,
    port: receiver.port,
    stats: () => ({ ...receiver.stats(), injected: { ...injected } }),
    setFaults,
    entries: () => receiver.entries(),
    close: () => receiver.close(),
  };
}
