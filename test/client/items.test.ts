import { afterEach, describe, expect, it } from 'vitest';
import type { ItemUpdate, ItemUpdateBatch } from '../../src/client/index.js';
import { InvalidRequestError } from '../../src/errors/index.js';
import { checkNoSecretsLeak, failure, makeClient, makeJobItem, uuid } from './helpers.js';
import { type Handler, reply, script, sendJson, startServer, type TestServer } from './server.js';

checkNoSecretsLeak();

const JOB_ID = uuid(1, 'b');

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});
async function serve(handler: Handler): Promise<TestServer> {
  server = await startServer(handler);
  return server;
}

/** Accepts every update except entry ids listed in `reject`, which come back in `errors[]`. */
function itemsServer(reject: Set<string> = new Set()): Handler {
  return (request, response) => {
    const updates = JSON.parse(request.body) as ItemUpdate[];
    sendJson(response, 200, {
      data: updates
        .filter((u) => !reject.has(u.accountingEntryId))
        .map((u) => makeJobItem(0, JOB_ID, { accountingEntryId: u.accountingEntryId, status: u.status })),
      errors: updates
        .filter((u) => reject.has(u.accountingEntryId))
        .map((u) => ({
          accountingEntryId: u.accountingEntryId,
          type: 'ACCOUNTING_ENTRY_DOES_NOT_EXIST',
          message: 'Accounting entry does not exist',
        })),
    });
  };
}

const updates = (n: number): ItemUpdate[] =>
  Array.from({ length: n }, (_, i) => ({
    accountingEntryId: uuid(i + 1, 'c'),
    status: 'successful',
    externalId: `JE-${i + 1}`,
  }));

const bodies = (s: TestServer): ItemUpdate[][] => s.requests.map((r) => JSON.parse(r.body) as ItemUpdate[]);

describe('updateJobItems batching', () => {
  it.each([
    [1, [1]],
    [100, [100]],
    [101, [100, 1]],
    [250, [100, 100, 50]],
  ])('%i updates are sent as batches of %j, in order', async (n, sizes) => {
    const s = await serve(itemsServer());
    const { client } = makeClient(s.url);
    const result = await client.updateJobItems(JOB_ID, updates(n));
    expect(bodies(s).map((b) => b.length)).toEqual(sizes);
    expect(
      bodies(s)
        .flat()
        .map((u) => u.accountingEntryId),
    ).toEqual(updates(n).map((u) => u.accountingEntryId));
    expect(
      s.requests.every((r) => r.method === 'PUT' && r.url.pathname === `/v3/export-jobs/${JOB_ID}/items`),
    ).toBe(true);
    expect(result.accepted).toHaveLength(n);
    expect(result.rejected).toEqual([]);
  });

  it('sends nothing for zero updates', async () => {
    const s = await serve(itemsServer());
    const { client } = makeClient(s.url);
    await expect(client.updateJobItems(JOB_ID, [])).resolves.toEqual({ accepted: [], rejected: [] });
    expect(s.requests).toHaveLength(0);
  });

  it('returns per-item rejections from errors[] as data, across batches', async () => {
    const rejected = new Set([uuid(5, 'c'), uuid(150, 'c'), uuid(201, 'c')]);
    const s = await serve(itemsServer(rejected));
    const { client } = makeClient(s.url);
    const result = await client.updateJobItems(JOB_ID, updates(250));
    expect(result.accepted).toHaveLength(247);
    expect(result.rejected).toEqual(
      [...rejected].map((id) => ({
        accountingEntryId: id,
        type: 'ACCOUNTING_ENTRY_DOES_NOT_EXIST',
        message: 'Accounting entry does not exist',
      })),
    );
    expect(s.requests).toHaveLength(3);
  });

  it('reports each accepted batch through onBatch before sending the next', async () => {
    const s = await serve(itemsServer(new Set([uuid(101, 'c')])));
    const { client } = makeClient(s.url);
    const seen: { index: number; sent: number; requestsSoFar: number; rejected: number }[] = [];
    await client.updateJobItems(JOB_ID, updates(150), {
      onBatch: (batch: ItemUpdateBatch) => {
        seen.push({
          index: batch.index,
          sent: batch.updates.length,
          requestsSoFar: s.requests.length,
          rejected: batch.rejected.length,
        });
      },
    });
    expect(seen).toEqual([
      { index: 0, sent: 100, requestsSoFar: 1, rejected: 0 },
      { index: 1, sent: 50, requestsSoFar: 2, rejected: 1 },
    ]);
  });

  it('stops at a failing batch: earlier batches are reported, later ones never sent', async () => {
    const s = await serve(
      script(
        itemsServer(),
        reply(422, { type: 'EXPORT_JOB_STATUS_UNPROCESSABLE', message: 'Export job is finished.' }),
      ),
    );
    const { client } = makeClient(s.url);
    const done: number[] = [];
    const error = await failure(
      client.updateJobItems(JOB_ID, updates(250), { onBatch: (b) => void done.push(b.index) }),
    );
    expect(error).toMatchObject({
      name: 'ConflictError',
      code: 'EXPORT_JOB_STATUS_UNPROCESSABLE',
      retryable: false,
    });
    expect(done).toEqual([0]);
    expect(s.requests).toHaveLength(2);
  });

  it('retries a batch on 503 (PUT of absolute state is idempotent)', async () => {
    const s = await serve(script(reply(503), itemsServer()));
    const { client } = makeClient(s.url);
    const result = await client.updateJobItems(JOB_ID, updates(3));
    expect(result.accepted).toHaveLength(3);
    expect(s.requests).toHaveLength(2);
    expect(s.requests[0]?.body).toBe(s.requests[1]?.body);
  });

  it('treats 413 EXPORT_JOB_ITEMS_UPDATE_LIMIT as a permanent programming error', async () => {
    const s = await serve(reply(413, { type: 'EXPORT_JOB_ITEMS_UPDATE_LIMIT', message: 'Max 100 items' }));
    const { client } = makeClient(s.url);
    const error = await failure(client.updateJobItems(JOB_ID, updates(2)));
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toMatchObject({ code: 'EXPORT_JOB_ITEMS_UPDATE_LIMIT', retryable: false, status: 413 });
    expect(s.requests).toHaveLength(1);
  });
});

describe('updateJobItems request hygiene', () => {
  it('never sends null or undefined for optional fields', async () => {
    const s = await serve(itemsServer());
    const { client } = makeClient(s.url);
    const sloppy = {
      accountingEntryId: uuid(1, 'c'),
      status: 'successful',
      externalId: null,
      externalUrl: undefined,
      exportedAt: '2024-05-01T10:00:00Z',
    } as unknown as ItemUpdate;
    await client.updateJobItems(JOB_ID, [sloppy]);
    expect(s.requests[0]?.body).toBe(
      JSON.stringify([
        { accountingEntryId: uuid(1, 'c'), status: 'successful', exportedAt: '2024-05-01T10:00:00Z' },
      ]),
    );
    expect(s.requests[0]?.headers['content-type']).toBe('application/json;charset=UTF-8');
  });

  it.each([
    [{ accountingEntryId: 'nope', status: 'successful' }, /accountingEntryId must be a uuid/],
    [{ accountingEntryId: uuid(1, 'c'), status: 'done' }, /status must be one of/],
    [
      { accountingEntryId: uuid(1, 'c'), status: 'successful', failureReason: 'x' },
      /only sent with status "failed"/,
    ],
    [
      { accountingEntryId: uuid(1, 'c'), status: 'failed', failureReasonType: 'oops' },
      /failureReasonType must be one of/,
    ],
    [
      { accountingEntryId: uuid(1, 'c'), status: 'successful', exportedAt: '2024-05-01' },
      /exportedAt must be an RFC 3339/,
    ],
    [
      { accountingEntryId: uuid(1, 'c'), status: 'failed', failure_reason: 'typo' },
      /failure_reason is not a known field/,
    ],
  ])('rejects %j locally', async (update, message) => {
    const s = await serve(itemsServer());
    const { client } = makeClient(s.url);
    const error = await failure(client.updateJobItems(JOB_ID, [update as unknown as ItemUpdate]));
    expect(error).toMatchObject({ name: 'InvalidRequestError', code: 'INVALID_ARGUMENT', retryable: false });
    expect(error.message).toMatch(message);
    expect(s.requests).toHaveLength(0);
  });

  it('rejects the same entry twice in one call (its final state would be ambiguous)', async () => {
    const s = await serve(itemsServer());
    const { client } = makeClient(s.url);
    const twice: ItemUpdate[] = [
      { accountingEntryId: uuid(1, 'c'), status: 'in_progress' },
      { accountingEntryId: uuid(1, 'c'), status: 'successful' },
    ];
    const error = await failure(client.updateJobItems(JOB_ID, twice));
    expect(error.message).toMatch(/appears more than once/);
  });

  it('validates a whole call before sending its first batch', async () => {
    const s = await serve(itemsServer());
    const { client } = makeClient(s.url);
    const list = updates(150);
    list[149] = { accountingEntryId: uuid(999, 'c'), status: 'bogus' as never };
    await failure(client.updateJobItems(JOB_ID, list));
    expect(s.requests).toHaveLength(0);
  });
});

describe('sendJobEvent and createJob validation', () => {
  it.each([
    [{ jobId: JOB_ID, event: 'canceled' }, /event must be one of/],
    [{ jobId: JOB_ID, event: 'failed' }, /needs a failureReasonType/],
    [{ jobId: JOB_ID, event: 'completed', failureReason: 'x' }, /only sent with the "failed" event/],
    [{ jobId: 'x', event: 'started' }, /jobId must be a uuid/],
  ])('rejects event %j locally', async (event, message) => {
    const s = await serve(reply(202));
    const { client } = makeClient(s.url);
    const error = await failure(client.sendJobEvent(event as never));
    expect(error.message).toMatch(message);
    expect(s.requests).toHaveLength(0);
  });

  it("rejects a job for another company than the client's", async () => {
    const s = await serve(reply(201));
    const { client } = makeClient(s.url);
    const error = await failure(
      client.createJob({ companyId: uuid(77, 'f'), accountingEntryIds: [uuid(1, 'c')] }),
    );
    expect(error.message).toMatch(/not this client's company/);
  });
});
