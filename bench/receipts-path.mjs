// The receipt path alone (issue 20): N receipts downloaded from a local server at no latency and
// stored the way the engine stores them, then staged and recorded in an hledger journal the way
// the booking step does. Uses the built code (`npm run build` first).
//
//   node bench/receipts-path.mjs serve              # a receipt server on a free port; prints it
//   node bench/receipts-path.mjs run PORT [N] [KB]  # download N receipts of KB each, then book
//   node bench/receipts-path.mjs run memory [N] [KB] # the same without HTTP: the file work alone
//
// Count the file system calls of one run with
//   strace -c -f -o /tmp/receipts.strace node bench/receipts-path.mjs run PORT 1300
// (start the server in another process so that its calls are not counted; RECEIPTS_BENCH_PHASE=
// retrieve stops after the downloads, to count that phase alone). The machine is shared:
// times are indicative, the call counts are exact.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [mode, portArg, nArg, kbArg] = process.argv.slice(2);

if (mode === 'serve') {
  const server = createServer((req, res) => {
    const kb = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('kb') ?? 50);
    const body = Buffer.alloc(kb * 1024, (req.url ?? '').length % 251);
    res.writeHead(200, { 'content-type': 'application/pdf', 'content-length': body.length });
    res.end(body);
  });
  server.listen(0, '127.0.0.1', () => console.log(server.address().port));
} else if (mode === 'run') {
  const dist = new URL('../dist/', import.meta.url);
  const { createPleoClient } = await import(new URL('client/index.js', dist).href);
  const attachments = await import(new URL('engine/attachments.js', dist).href);
  const { createHledgerAdapter } = await import(new URL('adapters/index.js', dist).href);
  const port = Number(portArg);
  const n = Number(nArg ?? 1300);
  const kb = Number(kbArg ?? 50);
  const company = '0b7e6f5a-1c2d-4e3f-8a9b-0c1d2e3f4a5b';
  const root = await mkdtemp(join(tmpdir(), 'receipts-bench-'));
  // PORT "memory": no HTTP at all, the bytes come from memory, so only the file work is timed.
  const client =
    portArg === 'memory'
      ? {
          download: async (url) => {
            const bytes = new Uint8Array(kb * 1024).fill(url.length % 251);
            return {
              bytes,
              byteLength: bytes.byteLength,
              sha256: createHash('sha256').update(bytes).digest('hex'),
            };
          },
        }
      : createPleoClient({
          baseUrl: `http://127.0.0.1:${port}`,
          companyId: company,
          auth: { kind: 'apiKey', apiKey: 'bench' },
          rateLimit: false,
        });
  const policy = {
    attachments: { maxBytes: 30 * 1024 * 1024, required: true, allowedTypes: ['application/pdf'] },
  };
  const items = Array.from({ length: n }, (_, i) => ({
    accountingEntryId: `cccccccc-0000-4000-8000-${String(i).padStart(12, '0')}`,
    files: [
      { url: `http://127.0.0.1:${port || 9}/r/${i}?kb=${kb}`, size: kb * 1024, type: 'application/pdf' },
    ],
  }));
  const dir = join(root, 'receipts', company);
  // One folder per job where the engine has it (issue 20); the old per-item signature otherwise.
  const folder = attachments.receiptFolder ? attachments.receiptFolder(dir) : dir;
  const pool = async (work, concurrency) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < work.length) await work[next++]();
      }),
    );
  };
  const results = new Array(n);
  let started = performance.now();
  await pool(
    items.map((item, i) => async () => {
      results[i] = await attachments.downloadAttachments(client, item, folder, policy);
    }),
    32,
  );
  const retrieveMs = performance.now() - started;
  if (results.some((r) => r.prefailure !== null))
    throw new Error(JSON.stringify(results.find((r) => r.prefailure)));

  if (process.env.RECEIPTS_BENCH_PHASE === 'retrieve') {
    console.log(JSON.stringify({ receipts: n, kb, retrieveMs: Math.round(retrieveMs), root }));
    process.exit(0);
  }

  // Booking: receipts checked on this machine, staged next to the journal, entries recorded.
  const adapter = createHledgerAdapter({ journalPath: join(root, 'books', 'books.journal') });
  started = performance.now();
  const entries = items.map((item, i) => ({
    accountingEntryId: item.accountingEntryId,
    jobId: 'dddddddd-0000-4000-8000-000000000001',
    companyId: company,
    date: '2026-03-10',
    kind: 'journal',
    method: 'journal',
    itemType: 'card_purchase',
    description: `Bench ${i}`,
    reconciliationId: `R-${i}`,
    reconciledEntries: [],
    attendees: [],
    currency: 'EUR',
    posting: 'draft',
    files: [],
    metadata: {},
    postings: [
      { account: '6010', amount: { currency: 'EUR', value: 100 + i }, dimensions: {}, role: 'expense' },
      { account: '1920', amount: { currency: 'EUR', value: -(100 + i) }, dimensions: {}, role: 'contra' },
    ],
  }));
  // As the engine books at concurrency 1: item k+1's receipts staged while item k is recorded.
  let previous = Promise.resolve();
  for (const [i, entry] of entries.entries()) {
    const here = await attachments.ensureAttachmentsHere(client, items[i], results[i].attachments, policy);
    const ctx = { companyId: company, idempotencyKey: entry.accountingEntryId };
    const staged = await adapter.stageAttachments(here.attachments, ctx);
    if (staged !== null) throw new Error(JSON.stringify(staged));
    await previous;
    previous = adapter.record(entry, { ...ctx, attachments: here.attachments }).then((o) => {
      if (o.status !== 'booked') throw new Error(JSON.stringify(o));
    });
  }
  await previous;
  await adapter.close();
  const bookMs = performance.now() - started;
  console.log(
    JSON.stringify({ receipts: n, kb, retrieveMs: Math.round(retrieveMs), bookMs: Math.round(bookMs), root }),
  );
} else {
  console.error('usage: receipts-path.mjs serve | run PORT [N] [KB]');
  process.exit(2);
}
