export type { AccountingEntry, ItemFailure, MappingResult, MinorAmount, Posting } from './types.js';
