import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { OAuthClient } from '../../src/simulator/index.js';
import { Api, basic, start } from './helpers.js';
import type { Harness, JobResponse, JobsPage } from './helpers.js';

describe('API keys and company isolation', () => {
  it('401 for missing, malformed or unknown credentials, and for a key with a password', async () => {
    const h = await start();
    for (const auth of [
      null,
      'Basic',
      basic('pk_test_unknown'),
      `Basic ${Buffer.from(`${h.company.apiKey}:secret`).toString('base64')}`,
      'Bearer nope',
      'Digest abc',
    ]) {
      const res = await h.api.call('GET', '/v3/export-jobs', { auth });
      expect([auth, res.status]).toEqual([auth, 401]);
      expect(res.body.type).toBe('unauthorized');
      expect(res.headers.get('www-authenticate')).toBeTruthy();
    }
  });

  it("a key of company A gets nothing of company B's", async () => {
    const h = await start({ companies: 2, itemsPerJob: 2 });
    const b = h.sim.companies[1]!;
    const bApi = new Api(h.sim.url, basic(b.apiKey));
    const bJob = (await bApi.call<JobsPage>('GET', '/v3/export-jobs')).body.data[0]!;
    const aJobs = (await h.api.call<JobsPage>('GET', '/v3/export-jobs')).body.data;
    expect(aJobs.every((j) => j.companyId === h.company.id)).toBe(true);
    expect(aJobs.map((j) => j.id)).not.toContain(bJob.id);
    const attempts: [string, string, unknown?][] = [
      ['GET', `/v3/export-jobs/${bJob.id}`],
      ['GET', `/v3/export-jobs/${bJob.id}/items`],
      ['PUT', `/v3/export-jobs/${bJob.id}/items`, []],
      ['GET', `/v3/export-items?job_id=${bJob.id}`],
      ['POST', '/v3/export-job-events', { jobId: bJob.id, event: 'started' }],
    ];
    for (const [method, path, body] of attempts) {
      const res = await h.api.call(method, path, body === undefined ? {} : { body });
      expect([method, path, res.status, res.body.type]).toEqual([method, path, 404, 'EXPORT_NOT_FOUND']);
    }
    expect((await h.api.call('GET', `/v3/export-jobs?company_id=${b.id}`)).status).toBe(403);
    expect(h.sim.admin.job(bJob.id)!.job.status).toBe('pending');
  });
});

const client: OAuthClient = {
  clientId: 'erp-connector',
  clientSecret: 's3cret',
  redirectUris: ['https://erp.example/callback'],
};

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(48).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

async function authorize(h: Harness, params: Record<string, string>): Promise<Response> {
  const q = new URLSearchParams({
    client_id: client.clientId,
    redirect_uri: client.redirectUris[0]!,
    response_type: 'code',
    code_challenge_method: 'S256',
    scope: 'export-jobs:read export-jobs:write',
    state: 'xyz',
    ...params,
  });
  return fetch(`${h.sim.url}/oauth/authorize?${q.toString()}`, { redirect: 'manual' });
}

async function token(h: Harness, form: Record<string, string>, auth = basicClient()): Promise<Response> {
  return fetch(`${h.sim.url}/oauth/token`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
}

function basicClient(secret = client.clientSecret): string {
  return `Basic ${Buffer.from(`${client.clientId}:${secret}`).toString('base64')}`;
}

interface Tokens {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
}

describe('OAuth 2.0 (authorization code + PKCE S256, rotating refresh tokens)', () => {
  it('runs the whole flow; access tokens expire on the simulator clock; refresh tokens rotate', async () => {
    const h = await start({ oauthClients: [client], accessTokenTtlMs: 600_000 });
    const { challenge } = pkce();
    const auth = await authorize(h, { code_challenge: challenge });
    expect(auth.status).toBe(302);
    const location = new URL(auth.headers.get('location')!);
    expect(location.origin + location.pathname).toBe(client.redirectUris[0]);
    expect(location.searchParams.get('state')).toBe('xyz');
    const code = location.searchParams.get('code')!;

    const wrongVerifier = await token(h, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: client.redirectUris[0]!,
      code_verifier: pkce().verifier,
    });
    expect(wrongVerifier.status).toBe(400);
    expect(((await wrongVerifier.json()) as { error: string }).error).toBe('invalid_grant');

    // The code is single-use: a fresh flow for the real exchange.
    const second = pkce();
    const code2 = new URL(
      (await authorize(h, { code_challenge: second.challenge })).headers.get('location')!,
    ).searchParams.get('code')!;
    const badClient = await token(
      h,
      {
        grant_type: 'authorization_code',
        code: code2,
        redirect_uri: client.redirectUris[0]!,
        code_verifier: second.verifier,
      },
      basicClient('wrong'),
    );
    expect(badClient.status).toBe(401);
    const ok = await token(h, {
      grant_type: 'authorization_code',
      code: code2,
      redirect_uri: client.redirectUris[0]!,
      code_verifier: second.verifier,
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('cache-control')).toBe('no-store');
    const t1 = (await ok.json()) as Tokens;
    expect(t1).toMatchObject({
      token_type: 'Bearer',
      expires_in: 600,
      scope: 'export-jobs:read export-jobs:write',
    });
    expect(t1.access_token.split('.')).toHaveLength(3);

    const jobs = await h.api.call<JobsPage>('GET', '/v3/export-jobs', { auth: `Bearer ${t1.access_token}` });
    expect(jobs.status).toBe(200);
    expect(jobs.body.data[0]!.companyId).toBe(h.company.id);

    h.clock.advance(600_000);
    const expired = await h.api.call('GET', '/v3/export-jobs', { auth: `Bearer ${t1.access_token}` });
    expect(expired.status).toBe(401);

    const r2 = await token(h, { grant_type: 'refresh_token', refresh_token: t1.refresh_token });
    expect(r2.status).toBe(200);
    const t2 = (await r2.json()) as Tokens;
    expect(t2.refresh_token).not.toBe(t1.refresh_token);
    const job = await h.api.call<JobResponse>('GET', `/v3/export-jobs/${jobs.body.data[0]!.id}`, {
      auth: `Bearer ${t2.access_token}`,
    });
    expect(job.status).toBe(200);

    const r3 = await token(h, { grant_type: 'refresh_token', refresh_token: t2.refresh_token });
    const t3 = (await r3.json()) as Tokens;
    expect((await h.api.call('GET', '/v3/export-jobs', { auth: `Bearer ${t2.access_token}` })).status).toBe(
      401,
    );

    // Replaying a rotated refresh token is refused and revokes the grant.
    const replay = await token(h, { grant_type: 'refresh_token', refresh_token: t1.refresh_token });
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { error: string }).error).toBe('invalid_grant');
    expect((await h.api.call('GET', '/v3/export-jobs', { auth: `Bearer ${t3.access_token}` })).status).toBe(
      401,
    );
    expect((await token(h, { grant_type: 'refresh_token', refresh_token: t3.refresh_token })).status).toBe(
      400,
    );
  });

  it('validates the authorize request (client, exact redirect URI, S256 only) and the token request', async () => {
    const h = await start({ oauthClients: [client] });
    const { challenge } = pkce();
    expect((await authorize(h, { client_id: 'nobody', code_challenge: challenge })).status).toBe(400);
    expect(
      (await authorize(h, { redirect_uri: 'https://erp.example/callback/', code_challenge: challenge }))
        .status,
    ).toBe(400);
    const plain = await authorize(h, { code_challenge_method: 'plain', code_challenge: challenge });
    expect(plain.status).toBe(302);
    expect(new URL(plain.headers.get('location')!).searchParams.get('error')).toBe('invalid_request');
    const noChallenge = await authorize(h, {});
    expect(new URL(noChallenge.headers.get('location')!).searchParams.get('error')).toBe('invalid_request');
    const token400 = await token(h, { grant_type: 'password' });
    expect(((await token400.json()) as { error: string }).error).toBe('unsupported_grant_type');
    const noAuth = await fetch(`${h.sim.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=refresh_token&refresh_token=x&client_id=${client.clientId}&client_secret=${client.clientSecret}`,
    });
    expect(noAuth.status).toBe(401);
  });

  it('binds the grant to company_id when the simulator has several companies', async () => {
    const h = await start({ companies: 2, oauthClients: [client] });
    const { verifier, challenge } = pkce();
    const none = await authorize(h, { code_challenge: challenge });
    expect(new URL(none.headers.get('location')!).searchParams.get('error')).toBe('invalid_request');
    const b = h.sim.companies[1]!;
    const res = await authorize(h, { code_challenge: challenge, company_id: b.id });
    const code = new URL(res.headers.get('location')!).searchParams.get('code')!;
    const t = (await (
      await token(h, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: client.redirectUris[0]!,
        code_verifier: verifier,
      })
    ).json()) as Tokens;
    const jobs = await h.api.call<JobsPage>('GET', '/v3/export-jobs', { auth: `Bearer ${t.access_token}` });
    expect(jobs.body.data.every((j) => j.companyId === b.id)).toBe(true);
  });

  it('admin-issued bearer tokens work and expire', async () => {
    const h = await start();
    const tok = h.sim.admin.issueAccessToken(h.company.id, { ttlMs: 1000 });
    expect((await h.api.call('GET', '/v3/export-jobs', { auth: `Bearer ${tok}` })).status).toBe(200);
    h.clock.advance(1000);
    expect((await h.api.call('GET', '/v3/export-jobs', { auth: `Bearer ${tok}` })).status).toBe(401);
  });
});
