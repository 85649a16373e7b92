/**
 * The `connect` callback listener (issue 17): a callback with a wrong `state` is answered 400 and
 * the listener keeps waiting for the right one; only our own `state` ends the wait.
 */
import { createServer } from 'node:net';

import { describe, expect, it } from 'vitest';

import { waitForAuthorizationCode } from '../../src/client/index.js';
import { ExportError } from '../../src/errors/index.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function listen(timeoutMs = 60_000) {
  const redirectUri = `http://127.0.0.1:${await freePort()}/callback`;
  const rejected: string[] = [];
  let ready!: () => void;
  const listening = new Promise<void>((resolve) => (ready = resolve));
  const code = waitForAuthorizationCode({
    redirectUri,
    state: 'our-state-123',
    timeoutMs,
    onListening: ready,
    onRejected: (reason) => rejected.push(reason),
  });
  code.catch(() => {}); // observed by each test
  await listening;
  const call = async (query: string) => {
    const response = await fetch(`${redirectUri}${query}`);
    return { status: response.status, text: await response.text() };
  };
  return { code, call, rejected };
}

describe('the OAuth callback listener', () => {
  it('answers 400 to a wrong or missing state and keeps waiting for the right one', async () => {
    const { code, call, rejected } = await listen();
    const forged = await call('?state=not-ours&code=attacker-code');
    expect(forged.status).toBe(400);
    expect(forged.text).toMatch(/state does not match .*still waiting/);
    expect((await call('?code=attacker-code')).status).toBe(400);
    expect((await call('?state=not-ours&error=access_denied')).status).toBe(400);
    const right = await call('?state=our-state-123&code=the-real-code');
    expect(right.status).toBe(200);
    expect(right.text).toMatch(/connected/);
    await expect(code).resolves.toBe('the-real-code');
    expect(rejected).toHaveLength(3);
  });

  it('ends with the refusal a callback with our state carries', async () => {
    const { code, call } = await listen();
    expect((await call('?state=our-state-123&error=access_denied')).status).toBe(400);
    const error = await code.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ExportError);
    expect(error).toMatchObject({ code: 'REAUTHORIZATION_REQUIRED' });
    expect((error as Error).message).toMatch(/authorisation refused \(access_denied\)/);
  });

  it('gives up after its timeout when the right callback never comes', async () => {
    const { code } = await listen(50);
    await expect(code).rejects.toMatchObject({ code: 'TIMEOUT' });
  });
});
