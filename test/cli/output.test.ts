/**
 * Terminal output is a sink for untrusted text (issue 17): Pleo's names and notes, the ERP's messages.
 * No control character reaches the terminal; JSON (output and logs) keeps its values.
 */
import { describe, expect, it } from 'vitest';

import { createLogger } from '../../src/cli/context.js';
import { table, terminalText } from '../../src/cli/output.js';
import { summaryTable } from '../../src/cli/progress.js';

const CONTROL =
  // eslint-disable-next-line no-control-regex -- the point of the test
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const HOSTILE = 'Hotel\u001b]0;owned\u0007\u001b[2J\u009b31m\u202eenilno\u2066\u2028\r\n\tx\u0000\ud800';

describe('terminal output', () => {
  it('terminalText shows every control character and lone surrogate as \\uXXXX', () => {
    expect(terminalText(HOSTILE)).toBe(
      'Hotel\\u001b]0;owned\\u0007\\u001b[2J\\u009b31m\\u202eenilno\\u2066\\u2028\\u000d\\u000a\\u0009x\\u0000\\ud800',
    );
    expect(terminalText('a\nb\u001b', { keepNewlines: true })).toBe('a\nb\\u001b');
    expect(terminalText('Café 💸 ok')).toBe('Café 💸 ok');
  });

  it('table cells are escaped, including line breaks inside a cell; array cells are lines', () => {
    const out = table(
      ['field', HOSTILE],
      [
        [HOSTILE, ['one\u001b[31m', 'two']],
        ['n', 3],
      ],
    );
    expect(out).not.toMatch(CONTROL);
    expect(out).toContain('\\u001b]0;owned');
    expect(out).toMatch(/one\\u001b\[31m/);
    expect(out).toMatch(/\n.*two/);
  });

  it('the run summary escapes failure reasons (they quote Pleo values)', () => {
    const out = summaryTable([
      {
        jobId: 'job-1',
        event: 'completed_with_errors',
        disposition: 'completed',
        counts: { successful: 1, failed: 1 },
        failureReason: null,
        failureReasonType: null,
        topFailures: [{ count: 1, failureReasonType: 'account_unknown', failureReason: HOSTILE }],
      } as unknown as Parameters<typeof summaryTable>[0][number],
    ]);
    expect(out).not.toMatch(CONTROL);
  });

  it('JSON log lines carry no raw control character and parse to the same values', () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(line) });
    logger.info({ supplier: HOSTILE }, `note ${HOSTILE}`);
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toMatch(CONTROL);
    const parsed = JSON.parse(line) as { supplier: string; msg: string };
    expect(parsed.supplier).toBe(HOSTILE);
    expect(parsed.msg).toBe(`note ${HOSTILE}`);
  });
});
