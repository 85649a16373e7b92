/**
 * Exit codes of `pleo-export` (documented in the README; scripts depend on them).
 *
 * | code | meaning |
 * |---|---|
 * | 0 | success (jobs completed, even with item errors: those are data, shown in the summary) |
 * | 1 | unexpected internal error (a bug: please report it) |
 * | 2 | invalid usage, flags or configuration |
 * | 3 | Pleo unreachable, or it refused the credentials |
 * | 4 | the accounting system is unavailable or refused the export (validation failed), or a run was deferred |
 * | 5 | a job ended `failed` (run --once) or a command's subject was not found |
 * | 130 | interrupted (SIGINT/SIGTERM); the store makes a rerun safe |
 */
import { ExportError } from '../errors/index.js';

export const EXIT = {
  ok: 0,
  internal: 1,
  usage: 2,
  pleo: 3,
  accounting: 4,
  failed: 5,
  interrupted: 130,
} as const;

export function exitCodeFor(error: unknown): number {
  if (error instanceof ExportError) {
    switch (error.code) {
      case 'INVALID_CONFIG':
      case 'INVALID_ARGUMENT':
        return EXIT.usage;
      case 'ACCOUNTING_UNREACHABLE':
      case 'ACCOUNTING_AUTH':
      case 'ACCOUNTING_RATE_LIMITED':
      case 'ACCOUNTING_TIMEOUT':
      case 'ACCOUNTING_REJECTED':
      case 'ACCOUNTING_UNUSABLE':
      case 'RUN_DEFERRED':
        return EXIT.accounting;
      case 'ABORTED':
        return EXIT.interrupted;
      case 'EXPORT_NOT_FOUND':
      case 'NOT_FOUND':
        return EXIT.failed;
      default:
        return EXIT.pleo;
    }
  }
  return EXIT.internal;
}
