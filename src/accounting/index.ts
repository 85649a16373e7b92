/**
 * The accounting model: export item → balanced, system-neutral entry. Pure functions, no I/O.
 * @module
 */
export type {
  AccountingEntry,
  Counterparty,
  EntryKind,
  ItemFailure,
  MappingContext,
  MappingResult,
  MinorAmount,
  Posting,
  PostingRole,
  ResolvedMethod,
} from './types.js';
export { mapExportItem, postingDate } from './map.js';
export { assertBalanced, balanceProblem } from './balance.js';
export {
  accountingConfigSchema,
  compileAccountingConfig,
  DEFAULT_ATTACHMENT_TYPES,
  type AccountingConfig,
  type AccountsConfig,
  type CompiledAccountingConfig,
  type CompiledTaxCode,
  type CompiledVendor,
} from './config.js';
export {
  attachmentFileName,
  attachmentKey,
  checkReceipt,
  extensionForContentType,
  normalizeContentType,
  receiptFailure,
  type ReceiptProblem,
} from './attachments.js';
export {
  currencyExponent,
  formatMinor,
  isCurrencyCode,
  parseMinor,
  sumMinor,
  taxIncludedIn,
  taxOn,
} from './currency.js';
export { VENDOR_UNKNOWN_MESSAGE } from './resolve.js';
export {
  CONTROL_CHARACTERS,
  cleanText,
  hasControlCharacter,
  isSpecDate,
  isUuid,
  quoteUntrusted,
} from './untrusted.js';
