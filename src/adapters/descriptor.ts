/**
 * What one accounting-system adapter tells the rest of pleo-export about itself. Each adapter folder
 * (`adapters/<system>/`) exports one `AdapterDescriptor`; the registry lists them, and the
 * configuration union, the CLI's choices, `check` and the runtime are derived from that list, so a
 * new adapter is one folder plus one line in the registry.
 */
import type { z } from 'zod';

import type { AccountingConfig } from '../accounting/index.js';
import type { EngineLogger } from '../engine/index.js';
import type { AccountingAdapter } from './types.js';

/** Small durable key-value records (e.g. rotating OAuth tokens), written atomically by the store. */
export interface AdapterKeyValue {
  getValue(key: string): Promise<string | null>;
  setValue(key: string, value: string | null): Promise<void>;
}

/** What the runtime hands an adapter when it creates one for a company. */
export interface AdapterDeps {
  companyId: string;
  /** The data directory (embedded mode) where an adapter may keep files of its own. */
  dataDir: string;
  /** Key-value records in the engine's store; keys are namespaced by the adapter's `type`. */
  kv: AdapterKeyValue;
  logger: EngineLogger;
  fetch: typeof fetch;
  /** Milliseconds since the epoch (injected so tests control time). */
  now: () => number;
  /**
   * Readable names of the company's accounts by code (`accounting.accountNames` / chart of
   * accounts), for systems that declare or label accounts. Absent when none are configured.
   */
  accountNames?: ReadonlyMap<string, string>;
}

/** One actionable finding of `pleo-export check` about an adapter's connection or configuration. */
export interface AdapterCheck {
  ok: boolean;
  /** What was checked, e.g. "Tryton at http://127.0.0.1:8000 answers and the login works". */
  what: string;
  /** When not ok: what to do about it, in words a bookkeeper or an operator can act on. */
  fix?: string;
}

export interface AdapterDescriptor<Config extends { type: string } = { type: string }> {
  /** The value of `adapter.type` in the configuration file. */
  readonly type: Config['type'];
  /** One line for `--help` and the README's table. */
  readonly summary: string;
  /** The adapter's configuration block, `type` included (a zod object with `type: z.literal(...)`). */
  readonly configSchema: z.ZodType<Config>;
  /** True when several worker processes on several machines may write through it at once. */
  readonly supportsScaleOut: boolean;
  create(config: Config, deps: AdapterDeps): Promise<AccountingAdapter>;
  /** Connection and configuration checks for `pleo-export check` (beyond the adapter's `validate`). */
  check?(config: Config, deps: AdapterDeps): Promise<AdapterCheck[]>;
  /**
   * A throwaway target for `pleo-export demo --target <type>` in the demo's folder: the adapter's
   * configuration, and what to print after the run. Adapters without it are not offered by `demo`.
   */
  demo?(dir: string, context: DemoContext): Promise<AdapterDemo<Config>>;
}

/** What the demo knows of its simulated company, for a target that must mirror its books. */
export interface DemoContext {
  /** The demo's accounting configuration (the simulator's chart, tax codes, vendors, lock date). */
  accounting: AccountingConfig;
  /** The company's wallet currency (the currency of its books). */
  currency: string;
}

/** What an adapter sets up for `pleo-export demo` (see `AdapterDescriptor.demo`). */
export interface AdapterDemo<Config extends { type: string } = { type: string }> {
  readonly config: Config;
  /** Where the booked entries can be seen, for the demo's summary (a journal, an ERP URL…). */
  readonly location: string;
  /**
   * After the run: lines for the summary (how to inspect the books, a consistency check) and
   * fields for `--json`; `ok: false` when the check found the books inconsistent.
   */
  report(): Promise<{ ok: boolean; lines: string[]; json: Record<string, unknown> }>;
  /** Stops what `demo` started (a local server…). */
  close(): Promise<void>;
}
