/**
 * The hledger adapter escapes for the journal even when an entry did not come through the mapping
 * (issue 17: a newline in a value wrote `include /etc/passwd` or a fake transaction into the books).
 * Each case is checked by the real hledger.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import type { AccountingEntry } from '../../src/accounting/index.js';
import { createHledgerAdapter } from '../../src/adapters/index.js';
import { COMPANY } from '../accounting/items.js';
import { contractEntry } from './contract.js';
import { checkStrict, findByTag, hledger } from './hledger-cli.js';

async function tempJournal(): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), 'pleo-hledger-inject-')), 'books.journal');
}

async function record(journalPath: string, ...entries: AccountingEntry[]) {
  const adapter = createHledgerAdapter({ journalPath });
  const outcomes = [];
  for (const e of entries)
    outcomes.push(
      await adapter.record(e, { companyId: COMPANY, idempotencyKey: e.accountingEntryId, attachments: [] }),
    );
  await adapter.close();
  return outcomes;
}

type Printed = { ttags: [string, string][]; tpostings: { paccount: string; ptags: [string, string][] }[] }[];
const print = (journal: string): Printed => JSON.parse(hledger(journal, ['print', '-O', 'json'])) as Printed;

describe('hledger adapter: hostile values in an entry', () => {
  it('a line break in a tag value (subType, method, dates, note) stays inside the comment', async () => {
    const journal = await tempJournal();
    const attack = '\ninclude /etc/passwd\n2026-01-01 * fake\n    6010  1.00 EUR\n    1920';
    const entry = contractEntry({
      itemSubType: `interest${attack}`,
      method: `journal${attack}` as AccountingEntry['method'],
      invoice: { number: `INV${attack}`, date: `2026-03-01${attack}`, dueDate: `2026-04-01${attack}` },
      note: `note, pleo-entry:x${attack}`,
      attendees: [attack],
    });
    expect((await record(journal, entry))[0]?.status).toBe('booked');
    checkStrict(journal);
    const text = await readFile(journal, 'utf8');
    expect(text).not.toMatch(/^include/m);
    expect(text).not.toMatch(/^2026-01-01/m);
    const printed = print(journal);
    expect(printed).toHaveLength(1);
    expect(printed[0]!.tpostings.map((p) => p.paccount)).toEqual(['6010', '2640', '1920']);
  });

  it('a description saying "pleo-entry:<other id>" does not mark that other entry as booked', async () => {
    const journal = await tempJournal();
    const victim = contractEntry();
    const decoy = contractEntry({ description: `Hotel pleo-entry:${victim.accountingEntryId} x` });
    expect((await record(journal, decoy))[0]?.status).toBe('booked');
    // A new adapter reads the index from the file, as after a restart.
    const adapter = createHledgerAdapter({ journalPath: journal });
    expect(await adapter.findExisting(victim.accountingEntryId, { companyId: COMPANY })).toBeNull();
    await adapter.close();
    const [outcome] = await record(journal, victim);
    expect(outcome?.status).toBe('booked');
    checkStrict(journal);
    expect(findByTag(journal, victim.accountingEntryId)).toHaveLength(1);
    expect(print(journal)).toHaveLength(2);
  });

  it('an account name with "type:" declares no account type (hledger reads word: in a comment as a tag)', async () => {
    const journal = await tempJournal();
    const base = contractEntry();
    const entry = {
      ...base,
      postings: base.postings.map((p, i) => (i === 0 ? { ...p, accountName: 'Travel type:A, x:y' } : p)),
    };
    await record(journal, entry);
    checkStrict(journal);
    expect(await readFile(journal, 'utf8')).toContain('account 6010  ; Travel type :A, x :y');
    const tags = print(journal)[0]!.tpostings[0]!.ptags.map(([k]) => k);
    expect(tags).not.toContain('type');
    expect(tags).not.toContain('x');
  });

  it('a tag group named pleo-entry cannot make `tag:pleo-entry=` find the transaction', async () => {
    const journal = await tempJournal();
    const base = contractEntry();
    const entry = {
      ...base,
      postings: base.postings.map((p, i) => (i === 0 ? { ...p, dimensions: { 'pleo-entry': 'victim' } } : p)),
    };
    await record(journal, entry);
    checkStrict(journal);
    expect(findByTag(journal, 'victim')).toHaveLength(0);
    expect(await readFile(journal, 'utf8')).toContain('pleo_entry:victim');
  });

  it.each([
    ['(6010)', 'a virtual posting hledger would not balance'],
    ['[6010]', 'a balanced virtual posting'],
    ['! 6010', 'a posting status'],
    ['60\u00a0\u00a010', 'two Unicode spaces end the account name'],
    ['60\u00a010', 'hledger reads a no-break space as a plain space: another account'],
    ['6010\u001b[31m', 'a control character'],
  ])('account %j is refused with account_unknown (%s); the journal stays valid', async (account) => {
    const journal = await tempJournal();
    const base = contractEntry();
    const entry = { ...base, postings: base.postings.map((p, i) => (i === 0 ? { ...p, account } : p)) };
    const [outcome] = await record(journal, entry, contractEntry());
    expect(outcome).toMatchObject({ status: 'failed', failureReasonType: 'account_unknown' });
    checkStrict(journal);
    expect(print(journal)).toHaveLength(1);
  });

  it('a date hledger cannot read, or an entry key with a line break, is refused and written nowhere', async () => {
    const journal = await tempJournal();
    const outcomes = await record(
      journal,
      contractEntry({ date: '2026-13-01' }),
      contractEntry({ date: '2026-03-01\ninclude /etc/passwd' }),
      contractEntry({ accountingEntryId: 'cccccccc-0000-4000-8000-00000000ffff\ninclude /etc/passwd' }),
      contractEntry(),
    );
    expect(outcomes.map((o) => o.status)).toEqual(['failed', 'failed', 'failed', 'booked']);
    for (const o of outcomes.slice(0, 3))
      expect(o).toMatchObject({ failureReasonType: 'validation_failure' });
    checkStrict(journal);
    expect(await readFile(journal, 'utf8')).not.toMatch(/^include/m);
  });

  it('control characters in free text never reach the file', async () => {
    const journal = await tempJournal();
    await record(
      journal,
      contractEntry({ description: 'Hotel\u001b[2J\u202e\u0000 Alpha\u2028;x|y', note: '\u009b31m\u0085' }),
    );
    checkStrict(journal);
    const text = await readFile(journal, 'utf8');
    // eslint-disable-next-line no-control-regex -- the point of the test
    expect(text.replace(/\n/g, '')).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2028\u2029]/);
    expect(text).toMatch(/ Hotel \[2J Alpha ,x\/y {2}; pleo-entry:/);
  });
});
