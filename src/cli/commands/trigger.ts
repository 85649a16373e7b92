/**
 * `trigger`: asks a running daemon (`pleo-export serve`) to poll now, through `POST /trigger`.
 *
 * The URL defaults to the configuration's `server.host`/`server.port` (a wildcard host means this
 * machine), the token to `server.triggerToken`. Exit codes: 0 accepted; 2 bad flags or the token
 * was refused; 3 no daemon answered (or it is shutting down); 5 the daemon does not know the company.
 */
import { Command } from 'commander';

import type { CompiledConfig } from '../../config/index.js';
import { configFromOptions, intArg } from '../context.js';
import { EXIT } from '../exit-codes.js';
import type { Io } from '../output.js';

interface TriggerOptions {
  config?: string;
  url?: string;
  company?: string;
  token?: string;
  timeout: number;
}

export function triggerCommand(io: Io): Command {
  return new Command('trigger')
    .description('ask a running `pleo-export serve` to poll Pleo now (all companies, or one)')
    .option('-c, --config <file>', 'configuration file, for the default URL and token')
    .option('--url <url>', 'daemon base URL (default http://<server.host>:<server.port>)')
    .option('--company <id>', 'poll only this company')
    .option('--token <token>', 'bearer token (default server.triggerToken)')
    .option('--timeout <ms>', 'give up after this many ms', intArg('--timeout', 1, 600_000), 10_000)
    .action(async (options: TriggerOptions) => {
      let config: CompiledConfig | undefined;
      if (options.url === undefined || options.token === undefined)
        config = configFromOptions(options.config === undefined ? {} : { config: options.config });
      const base = (options.url ?? defaultUrl(config)).replace(/\/+$/, '');
      const token = options.token ?? config?.server.triggerToken;
      const url = `${base}/trigger${options.company === undefined ? '' : `?company=${encodeURIComponent(options.company)}`}`;
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
          signal: AbortSignal.timeout(options.timeout),
        });
      } catch (error) {
        io.err(`No daemon answered at ${base} (is \`pleo-export serve\` running?): ${reason(error)}`);
        process.exitCode = EXIT.pleo;
        return;
      }
      const text = await response.text();
      const body = parse(text);
      if (response.status === 202) {
        const companies = Array.isArray(body['companies']) ? body['companies'].map(String) : [];
        io.out(
          `Poll scheduled for ${companies.length === 1 ? `company ${companies[0]}` : `${companies.length} companies`}.`,
        );
        return;
      }
      const detail = typeof body['error'] === 'string' ? body['error'] : text.slice(0, 200);
      io.err(`The daemon at ${base} answered ${response.status}: ${detail}`);
      process.exitCode =
        response.status === 401 || response.status === 403
          ? EXIT.usage
          : response.status === 404
            ? EXIT.failed
            : EXIT.pleo;
    });
}

function defaultUrl(config: CompiledConfig | undefined): string {
  const host = config?.server.host ?? '127.0.0.1';
  const port = config?.server.port ?? 8080;
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

function parse(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function reason(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}
