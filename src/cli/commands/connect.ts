/**
 * `connect`: the OAuth 2.0 authorization-code flow with PKCE for one company (docs/decisions.md#w9).
 * Prints the authorize URL, receives the callback on a one-shot local listener at the configured
 * `redirectUri` (it must be an http://127.0.0.1 or localhost address; behind a public URL, forward
 * it), exchanges the code and stores the tokens in the local state. The daemon then refreshes and
 * rotates them (each rotation persisted atomically before use). Run it again whenever Pleo asks
 * for re-authorisation; the configuration is kept.
 */
import { Command } from 'commander';

import {
  createAuthorizationRequest,
  exchangeAuthorizationCode,
  waitForAuthorizationCode,
} from '../../client/index.js';
import { ConfigError } from '../../errors/index.js';
import { saveTokens } from '../../runtime/index.js';
import { configFromOptions, intArg, openStore, withConfigOptions, type CommonOptions } from '../context.js';
import type { Io } from '../output.js';

interface ConnectOptions extends CommonOptions {
  timeout: number;
  extraParam?: string[];
}

export function connectCommand(io: Io): Command {
  return withConfigOptions(new Command('connect'))
    .description(
      'authorise pleo-export for a company with OAuth 2.0 (authorization code + PKCE) and store its tokens',
    )
    .option(
      '--timeout <seconds>',
      'how long to wait for the browser callback',
      intArg('--timeout', 1, 3600),
      300,
    )
    .option(
      '--extra-param <key=value...>',
      'extra authorize-URL parameters (e.g. company_id=… for the simulator)',
    )
    .action(async (options: ConnectOptions) => {
      const config = configFromOptions(options);
      const company =
        options.company === undefined
          ? config.companies[0]
          : config.companies.find((c) => c.id === options.company?.toLowerCase());
      if (!company) throw new ConfigError('connect: name a configured company with --company ID');
      if (company.auth.kind !== 'oauth') {
        throw new ConfigError(`connect: company ${company.name} has no oauth section in the configuration`);
      }
      const auth = company.auth;
      const redirect = new URL(auth.redirectUri);
      if (redirect.protocol !== 'http:' || !['127.0.0.1', 'localhost', '[::1]'].includes(redirect.hostname)) {
        throw new ConfigError(
          `connect: oauth.redirectUri ${auth.redirectUri} is not a local http address; the one-shot listener needs one (forward your public callback to it)`,
        );
      }
      const extra = Object.fromEntries(
        (options.extraParam ?? []).map((pair) => {
          const at = pair.indexOf('=');
          if (at <= 0) throw new ConfigError(`--extra-param ${pair}: expected key=value`);
          return [pair.slice(0, at), pair.slice(at + 1)];
        }),
      );
      const request = createAuthorizationRequest({
        authorizeUrl: auth.authorizeUrl,
        clientId: auth.clientId,
        redirectUri: auth.redirectUri,
        scopes: auth.scopes,
        extra,
      });
      const code = await waitForAuthorizationCode({
        redirectUri: auth.redirectUri,
        state: request.state,
        timeoutMs: options.timeout * 1000,
        onListening: () => {
          io.err('Open this URL in a browser and approve access for pleo-export:');
          io.out(request.url);
          io.err(`Waiting for the callback on ${auth.redirectUri} …`);
        },
        onRejected: (reason) => io.err(`Ignored a callback: ${reason}; still waiting.`),
      });
      const tokens = await exchangeAuthorizationCode({
        tokenUrl: auth.tokenUrl,
        clientId: auth.clientId,
        clientSecret: auth.clientSecret,
        code,
        redirectUri: auth.redirectUri,
        codeVerifier: request.codeVerifier,
      });
      const store = await openStore(config);
      try {
        await saveTokens(store, company.id, tokens);
      } finally {
        await store.close();
      }
      io.err(
        `Connected company ${company.name}${tokens.scope ? ` (scopes: ${tokens.scope})` : ''}; tokens stored in ${config.dataDir}.`,
      );
    });
}
