import { afterEach, describe, expect, it } from 'vitest';
import { watchedRequests, watchSent } from '../../src/client/sent.js';
import { reply, startServer, type TestServer } from './server.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('watchSent (issue 20: a request sent ahead must leave before CPU work holds the event loop)', () => {
  it("tells once Node's fetch has written the request, before its answer, and only for that URL", async () => {
    server = await startServer(reply(200, { ok: true }));
    const url = new URL(`${server.url}/v3/export-items?job_id=j&after=CUR1`);
    const told: string[] = [];
    const stop = watchSent(url, () => told.push('sent'));
    const stopOther = watchSent(new URL(`${server.url}/v3/export-items?job_id=j&after=CUR2`), () =>
      told.push('other'),
    );
    const answer = fetch(url).then(async (response) => {
      told.push(`answered ${response.status}`);
      await response.text();
    });
    expect(told).toEqual([]); // nothing is written synchronously
    await answer;
    stop();
    expect(told).toEqual(['sent', 'answered 200']);
    expect(watchedRequests()).toBe(1);
    stopOther();
    expect(watchedRequests()).toBe(0);
  });

  it('a watch stopped before the request leaves is never called, and nothing stays subscribed', async () => {
    server = await startServer(reply(200, { ok: true }));
    const url = new URL(`${server.url}/v3/export-jobs?limit=1`);
    let calls = 0;
    const stop = watchSent(url, () => (calls += 1));
    stop();
    stop(); // twice is harmless
    await (await fetch(url)).text();
    expect(calls).toBe(0);
    expect(watchedRequests()).toBe(0);
  });
});
