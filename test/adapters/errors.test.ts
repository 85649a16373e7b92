/**
 * The one mapping from an error to what it means for the export (`adapters/errors.ts`), walked
 * over every code of the taxonomy: each code has one meaning, whatever flag, status or class it
 * carries, and every failure type it gives is one of Pleo's.
 */
import { afterEach, describe, expect, it } from 'vitest';

import {
  classifyAccountingError,
  createHttpAdapter,
  jobFailureOf,
  type AccountingFault,
} from '../../src/adapters/index.js';
import { AccountingSystemError, ERROR_CODES, ExportError, type ErrorCode } from '../../src/errors/index.js';
import { jobTypeFor } from '../../src/engine/outcomes.js';
import spec from '../../src/generated/export-v3.spec.json' with { type: 'json' };
import { startReferenceReceiver, type ReferenceReceiver } from '../../src/testing/index.js';

/**
 * What each code means for the export. `flag`: the code does not decide, its `retryable` flag does
 * (retryable → transient, else the entry's failure). A `Record` over `ErrorCode`: a code added to
 * the taxonomy without a meaning here does not compile.
 */
const MEANING: Record<ErrorCode, 'transient' | 'item' | 'job' | 'flag'> = {
  EXPORT_NOT_FOUND: 'flag',
  EXPORT_ENTRY_NOT_FOUND: 'flag',
  INVALID_EXPORT_JOB_STATUS_CHANGE: 'flag',
  EXPORT_JOB_STATUS_UNPROCESSABLE: 'flag',
  EXPORT_JOB_ITEMS_UPDATE_LIMIT: 'flag',
  MISSING_CONTRA_ACCOUNTS: 'flag',
  EXPORT_ALREADY_IN_PROGRESS: 'flag',
  UNAUTHENTICATED: 'flag',
  FORBIDDEN: 'flag',
  NOT_FOUND: 'flag',
  BAD_REQUEST: 'flag',
  CONFLICT: 'flag',
  UNPROCESSABLE: 'flag',
  RATE_LIMITED: 'flag',
  SERVER_ERROR: 'flag',
  UNEXPECTED_STATUS: 'flag',
  TIMEOUT: 'flag',
  NETWORK: 'flag',
  ABORTED: 'transient',
  MALFORMED_RESPONSE: 'flag',
  PAGINATION_STUCK: 'flag',
  LISTING_OVERFLOW: 'flag',
  TOKEN_REFRESH_FAILED: 'flag',
  REAUTHORIZATION_REQUIRED: 'flag',
  INVALID_CONFIG: 'job',
  INVALID_ARGUMENT: 'flag',
  RESPONSE_TOO_LARGE: 'flag',
  FILE_TOO_LARGE: 'flag',
  FILE_SIZE_MISMATCH: 'flag',
  DOWNLOAD_REFUSED: 'flag',
  ACCOUNTING_UNREACHABLE: 'transient',
  ACCOUNTING_AUTH: 'job',
  ACCOUNTING_RATE_LIMITED: 'transient',
  ACCOUNTING_TIMEOUT: 'transient',
  ACCOUNTING_REJECTED: 'item',
  ACCOUNTING_UNUSABLE: 'job',
  LEASE_LOST: 'flag',
  RUN_DEFERRED: 'flag',
};

const schemas = spec.components.schemas as unknown as Record<string, { enum?: string[] }>;
/** Pleo's enums, from the Export API's own OpenAPI file. */
const JOB_TYPES = schemas['ExportJobFailureReasonType']?.enum ?? [];
const ITEM_TYPES = schemas['ExportJobItemFailureReasonType']?.enum ?? [];

function typeOf(fault: AccountingFault): string {
  return fault.failureReasonType;
}

describe('classifyAccountingError: every code of the taxonomy', () => {
  it('lists every code once, and has a meaning for each', () => {
    expect(JOB_TYPES.length).toBeGreaterThan(10);
    expect(ITEM_TYPES.length).toBeGreaterThan(10);
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
    expect(Object.keys(MEANING).sort()).toEqual([...ERROR_CODES].sort());
  });

  for (const code of ERROR_CODES) {
    it(`${code}: one meaning whatever its flag, status or class`, () => {
      for (const retryable of [false, true]) {
        for (const status of [undefined, 400, 401, 403, 503]) {
          for (const Cls of [AccountingSystemError, ExportError]) {
            const error = new Cls(`boom ${code}`, {
              code,
              retryable,
              ...(status === undefined ? {} : { status }),
            });
            const fault = classifyAccountingError(error);
            const meaning = MEANING[code];
            const expected = meaning === 'flag' ? (retryable ? 'transient' : 'item') : meaning;
            expect([code, retryable, status, fault.kind]).toEqual([code, retryable, status, expected]);
            // Every type handed to Pleo is one of its own.
            expect(fault.kind === 'item' ? ITEM_TYPES : JOB_TYPES).toContain(typeOf(fault));
            if (fault.kind === 'transient') expect(fault.error).toBe(error);
            if (fault.kind === 'item') {
              expect(fault.failureReasonType).toBe(
                Cls === AccountingSystemError ? 'accounting_system_validation_failure' : 'unexpected_failure',
              );
              expect(fault.failureReason).toContain(`boom ${code}`);
            }
            // Where no entry is to blame (validation, check): the same mapping, at job level.
            const job = jobFailureOf(error);
            expect(JOB_TYPES).toContain(job.failureReasonType);
            expect(job.failureReasonType).toBe(
              fault.kind === 'item' ? 'invalid_configuration' : fault.failureReasonType,
            );
            expect(job.failureReason).toContain(`boom ${code}`);
          }
        }
      }
    });
  }

  it('the job types: credentials by status, configuration, and what kept the system from answering', () => {
    const fault = (code: ErrorCode, status?: number) =>
      typeOf(
        classifyAccountingError(
          new AccountingSystemError('x', {
            code,
            retryable: false,
            ...(status === undefined ? {} : { status }),
          }),
        ),
      );
    expect(fault('ACCOUNTING_AUTH')).toBe('accounting_system_authentication_failure');
    expect(fault('ACCOUNTING_AUTH', 401)).toBe('accounting_system_authentication_failure');
    expect(fault('ACCOUNTING_AUTH', 403)).toBe('authorization_failure');
    expect(fault('ACCOUNTING_UNUSABLE')).toBe('invalid_configuration');
    expect(fault('INVALID_CONFIG')).toBe('invalid_configuration');
    expect(fault('ACCOUNTING_TIMEOUT')).toBe('accounting_system_timeout');
    expect(fault('ACCOUNTING_RATE_LIMITED')).toBe('accounting_system_rate_limit');
    expect(fault('ACCOUNTING_UNREACHABLE')).toBe('accounting_system_unreachable');
    expect(fault('ABORTED')).toBe('accounting_system_unreachable');
  });

  it('a job whose every entry failed one way fails with a job type of Pleo’s (engine/outcomes.ts)', () => {
    for (const type of ITEM_TYPES) {
      expect(JOB_TYPES, type).toContain(jobTypeFor(type as Parameters<typeof jobTypeFor>[0]));
    }
    // The item failures the classification gives, as a job's type when every entry failed so.
    expect(jobTypeFor('accounting_system_validation_failure')).toBe('validation_failure');
    expect(jobTypeFor('unexpected_failure')).toBe('validation_failure');
  });

  it('anything that is not an ExportError (an adapter bug) fails only its entry', () => {
    for (const thrown of [new Error('bug'), 'a string', undefined, { code: 'ACCOUNTING_UNREACHABLE' }]) {
      expect(classifyAccountingError(thrown)).toMatchObject({
        kind: 'item',
        failureReasonType: 'unexpected_failure',
      });
      expect(jobFailureOf(thrown).failureReasonType).toBe('invalid_configuration');
    }
  });
});

describe('the HTTP adapter raises one meaning per answer', () => {
  let receiver: ReferenceReceiver | undefined;
  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
  });

  it('a lookup the ERP refuses (4xx) is ACCOUNTING_REJECTED, never retryable, this entry’s failure', async () => {
    receiver = await startReferenceReceiver();
    const adapter = createHttpAdapter({ baseUrl: receiver.url });
    for (const status of [400, 409, 422]) {
      receiver.setFaults({ failNext: 1, status });
      const error = await adapter
        .findExisting('3f1e7a52-0c55-4f4e-9a43-0a3c6d1b2e10', { companyId: 'c' })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AccountingSystemError);
      expect(error).toMatchObject({ code: 'ACCOUNTING_REJECTED', retryable: false, status });
      expect(classifyAccountingError(error).kind).toBe('item');
    }
    await adapter.close();
  });
});
