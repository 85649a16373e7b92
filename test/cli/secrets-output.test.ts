/**
 * Credentials never reach the terminal or the logs (issue 17): `config --print` masks credentials
 * inside URLs and secret-like query parameters, configuration errors never repeat a secret value,
 * the logger masks them in messages and fields, and `secrets` configures the at-rest key.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import { afterAll, describe, expect, it } from 'vitest';

import { createLogger } from '../../src/cli/context.js';
import { loadConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors/index.js';
import { cli, expectCleanError } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'pleo-secrets-out-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const COMPANY = '00000000-0000-4000-8000-000000000001';
let n = 0;

function configFile(content: string): string {
  const path = join(dir, `c${n++}.yaml`);
  writeFileSync(path, content);
  return path;
}

function configError(raw: unknown, env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    loadConfig({ raw, env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a configuration error');
}

describe('config --print', () => {
  it('masks credentials inside URLs and secret-like query parameters', async () => {
    const file = configFile(
      [
        `dataDir: ${dir}`,
        'pleo:',
        '  url: https://pleo-user:pleo-pass-987@pleo.example/api?access_token=tok-987654&page=1',
        'postgres:',
        '  url: postgres://app:pg-pass-987@db.example:5432/pleo?sslmode=require&password=pw-987654',
        'companies:',
        `  - id: ${COMPANY}`,
        '    apiKey: pk_test_987654321',
        '    adapter:',
        '      type: http',
        '      url: https://erp.example/hook?sig=sig-987654&X-Amz-Signature=amz-987654&apikey=key-987654',
      ].join('\n'),
    );
    const printed = await cli(['config', '--print', '--config', file]);
    expect(printed.code, printed.err).toBe(0);
    for (const secret of [
      'pleo-pass-987',
      'tok-987654',
      'pg-pass-987',
      'pw-987654',
      'sig-987654',
      'amz-987654',
      'key-987654',
      'pk_test_987654321',
    ]) {
      expect(printed.out).not.toContain(secret);
    }
    expect(printed.out).toContain(
      'https://pleo-user:[REDACTED]@pleo.example/api?access_token=[REDACTED]&page=1',
    );
    expect(printed.out).toContain('sslmode=require');
    expect(printed.out).toContain('erp.example/hook?sig=[REDACTED]');
  });
});

describe('configuration errors', () => {
  it('never repeat the value of a secret setting', () => {
    const error = configError({
      companies: [
        { id: COMPANY, apiKey: 123456789, adapter: { type: 'http', url: 'https://e', token: 987654321 } },
      ],
      server: { webhookSecret: ['whsec_abcdefghijkl'] },
    });
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toMatch(/companies\[0\]\.apiKey: got a value \(hidden\)/);
    expect(error.message).toMatch(/companies\[0\]\.adapter\.token: got a value \(hidden\)/);
    expect(error.message).toMatch(/server\.webhookSecret: got a value \(hidden\)/);
    for (const secret of ['123456789', '987654321', 'whsec_abcdefghijkl'])
      expect(error.message).not.toContain(secret);
  });

  it('mask credentials inside any other value they repeat', () => {
    const error = configError({ pleo: { url: 'ftp://user:ftp-pass-987@host/x?token=tok-987654' } });
    expect(error.message).toMatch(/pleo\.url: got "ftp:\/\/user:\[REDACTED\]@host\/x\?token=\[REDACTED\]"/);
    expect(error.message).not.toContain('ftp-pass-987');
    expect(error.message).not.toContain('tok-987654');
  });

  it('hide a malformed postgres URL', () => {
    const error = configError({ postgres: { url: 42 } });
    expect(error.message).toMatch(/postgres\.url: got a value \(hidden\)/);
  });
});

describe('the secrets key', () => {
  const key = Buffer.alloc(32, 5);

  it('is read from keyEnv or keyFile (hex or base64) and never printed', async () => {
    expect(
      loadConfig({ raw: { secrets: { keyEnv: 'K' } }, env: { K: key.toString('hex') } }).secrets.key,
    ).toEqual(key);
    const keyFile = join(dir, `key-${n++}`);
    writeFileSync(keyFile, `${key.toString('base64')}\n`, { mode: 0o600 });
    const config = loadConfig({ raw: { secrets: { keyFile } }, env: {} });
    expect(config.secrets.key).toEqual(key);
    expect(config.secrets.files).toEqual([keyFile]);
    const file = configFile(`dataDir: ${dir}\nsecrets:\n  keyFile: ${keyFile}\n`);
    const printed = await cli(['config', '--print', '--config', file]);
    expect(printed.out).toContain(`keyFile: ${keyFile}`);
    expect(printed.out).not.toContain(key.toString('base64'));
  });

  it('is refused with a clear error when missing, malformed, or given twice', async () => {
    expect(configError({ secrets: { keyEnv: 'MISSING' } }).message).toMatch(
      /secrets\.keyEnv: the environment variable MISSING is not set/,
    );
    const bad = configError({ secrets: { keyEnv: 'K' } }, { K: 'not-a-key-but-a-passphrase' });
    expect(bad.message).toMatch(/secrets\.keyEnv \(K\): expected a 32-byte key/);
    expect(bad.message).not.toContain('not-a-key-but-a-passphrase');
    expect(configError({ secrets: { keyEnv: 'K', keyFile: '/k' } }).message).toMatch(
      /secrets: .*set keyFile or keyEnv, not both/,
    );
    expect(configError({ secrets: { key: 'inline' } }).message).toMatch(/secrets\.key: unknown key/);
    const file = configFile(`dataDir: ${dir}\nsecrets:\n  keyFile: ${join(dir, 'absent')}\n`);
    expectCleanError(await cli(['config', '--config', file]), 2, /secrets\.keyFile: cannot read .*ENOENT/);
  });
});

describe('the logger', () => {
  it('masks credentials in messages and fields, whatever the field name', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger('info', sink);
    logger.warn(
      {
        target: 'https://u:url-pass-987@files.example/r.pdf?X-Amz-Signature=amz-987654',
        nested: { detail: 'GET /x?token=tok-987654' },
      },
      'download of https://files.example/r.pdf?sig=sig-987654 failed',
    );
    logger.error({ err: new Error('GET https://h/x?access_token=err-987654: 500') }, 'failed');
    const text = lines.join('');
    for (const secret of ['url-pass-987', 'amz-987654', 'tok-987654', 'sig-987654', 'err-987654'])
      expect(text).not.toContain(secret);
    expect(text).toContain('files.example/r.pdf?X-Amz-Signature=[REDACTED]');
    expect(text).toContain('download of https://files.example/r.pdf?sig=[REDACTED] failed');
    expect(text).toContain('"msg":"failed"');
  });
});
