import type { AccountingEntry } from './types.js';

/** Why an entry is not balanced, or `null` when it is (debits = credits to the minor unit). */
export function balanceProblem(
  entry: Pick<AccountingEntry, 'currency' | 'postings' | 'accountingEntryId'>,
): string | null {
  if (entry.postings.length < 2)
    return `entry ${entry.accountingEntryId} has ${entry.postings.length} posting(s); at least 2 are needed`;
  let sum = 0n;
  for (const posting of entry.postings) {
    if (posting.amount.currency !== entry.currency) {
      return `entry ${entry.accountingEntryId} mixes ${posting.amount.currency} into a ${entry.currency} entry`;
    }
    if (!Number.isSafeInteger(posting.amount.value)) {
      return `entry ${entry.accountingEntryId} has a non-integer amount ${posting.amount.value} on ${posting.account}`;
    }
    sum += BigInt(posting.amount.value);
  }
  return sum === 0n
    ? null
    : `entry ${entry.accountingEntryId} is off by ${sum.toString()} minor units of ${entry.currency}`;
}

/**
 * Throws when debits and credits of an entry differ by even one minor unit. The mapping calls it
 * on every entry it produces; adapters may call it again before writing.
 */
export function assertBalanced(
  entry: Pick<AccountingEntry, 'currency' | 'postings' | 'accountingEntryId'>,
): void {
  const problem = balanceProblem(entry);
  if (problem !== null) throw new Error(`Unbalanced accounting entry: ${problem}`);
}
