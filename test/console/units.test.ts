/** The console's building blocks without a browser: escaping, origin checks, configuration. */
import type { IncomingMessage } from 'node:http';

import { describe, expect, it } from 'vitest';

import { loadConfig } from '../../src/config/index.js';
import { isLoopbackHost, sameOrigin, secretMatches, ownOrigins } from '../../src/console/auth.js';
import { escapeHtml, externalLink, html } from '../../src/console/html.js';

function request(headers: Record<string, string>): IncomingMessage {
  return { headers } as unknown as IncomingMessage;
}

describe('console html', () => {
  it('escapes every interpolated value and keeps built fragments', () => {
    const hostile = `<script>alert("x")</script>'\`&`;
    expect(html`<td title="${hostile}">${hostile}</td>`.value).toBe(
      `<td title="${escapeHtml(hostile)}">${escapeHtml(hostile)}</td>`,
    );
    expect(escapeHtml(hostile)).not.toMatch(/[<>"'`]/);
    expect(html`<p>${html`<b>${'<i>'}</b>`}</p>`.value).toBe('<p><b>&lt;i&gt;</b></p>');
    expect(html`${[1, '<', null, undefined, false]}`.value).toBe('1&lt;');
  });

  it('links only to http(s) URLs', () => {
    expect(externalLink('javascript:alert(1)', 'E1').value).toBe('E1');
    expect(externalLink('https://erp.example/e/1?a=1&b="2"', 'E1').value).toBe(
      '<a href="https://erp.example/e/1?a=1&amp;b=&quot;2&quot;" rel="noopener noreferrer nofollow" target="_blank">E1</a>',
    );
    expect(externalLink(null, '<E>').value).toBe('&lt;E&gt;');
  });
});

describe('console auth', () => {
  it('knows loopback hosts', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1'])
      expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'example.com'])
      expect(isLoopbackHost(host), host).toBe(false);
  });

  it('accepts actions only from its own origin', () => {
    const origins = ownOrigins(request({ host: 'console.local:8080' }), 'https://pleo.example.com/base');
    expect(sameOrigin(request({ origin: 'http://console.local:8080' }), origins)).toBe(true);
    expect(sameOrigin(request({ origin: 'https://pleo.example.com' }), origins)).toBe(true);
    expect(sameOrigin(request({ origin: 'https://evil.example' }), origins)).toBe(false);
    expect(sameOrigin(request({ origin: 'null' }), origins)).toBe(false);
    expect(sameOrigin(request({ referer: 'http://console.local:8080/console/jobs' }), origins)).toBe(true);
    expect(sameOrigin(request({ referer: 'https://evil.example/x' }), origins)).toBe(false);
    expect(sameOrigin(request({}), origins)).toBe(false);
    expect(
      sameOrigin(request({ origin: 'http://console.local:8080', 'sec-fetch-site': 'same-site' }), origins),
    ).toBe(false);
    // A forged Host cannot smuggle markup or another scheme into the allowed origins.
    expect([...ownOrigins(request({ host: 'a"b' }), undefined)]).toEqual([]);
  });

  it('compares tokens in constant time, whatever their lengths', () => {
    expect(secretMatches('abc', 'abc')).toBe(true);
    expect(secretMatches('abc', 'abcd')).toBe(false);
    expect(secretMatches('', 'abc')).toBe(false);
  });
});

describe('console configuration', () => {
  it('reads the token like every secret, masks it, and defaults the audit retention', () => {
    const config = loadConfig({
      env: { CONSOLE_TOKEN: 'from-the-environment-123' },
      raw: { server: { console: { tokenEnv: 'CONSOLE_TOKEN', refreshMs: 250 } } },
    });
    expect(config.server.console).toEqual({
      enabled: true,
      token: 'from-the-environment-123',
      refreshMs: 250,
    });
    expect(config.audit.retentionDays).toBe(90);
    const inline = loadConfig({ env: {}, raw: { server: { console: { token: 'inline-secret-token' } } } });
    expect(JSON.stringify(inline.printable)).not.toContain('inline-secret-token');
    expect(() => loadConfig({ env: {}, raw: { server: { console: { tokn: 'x' } } } })).toThrow(
      /server\.console\.tokn: unknown key/,
    );
    expect(() => loadConfig({ env: {}, raw: { audit: { retentionDays: 0 } } })).toThrow(
      /audit\.retentionDays/,
    );
  });
});

describe('pleo-export console', () => {
  it('refuses to listen beyond loopback without a token, in one line', async () => {
    const { runCli } = await import('../../src/cli/program.js');
    const err: string[] = [];
    const dir = (await import('node:fs')).mkdtempSync(
      (await import('node:path')).join((await import('node:os')).tmpdir(), 'pleo-console-cli-'),
    );
    const code = await runCli(['console', '--data-dir', dir, '--host', '0.0.0.0', '--port', '0'], {
      out: () => undefined,
      err: (line: string) => err.push(line),
      isTTY: false,
    });
    expect(code).toBe(2);
    expect(err.join('\n')).toMatch(
      /^pleo-export: The console on 0\.0\.0\.0 would be reachable .*server\.console\.token/,
    );
    expect(err.join('\n')).not.toMatch(/\n\s+at /);
  });
});
