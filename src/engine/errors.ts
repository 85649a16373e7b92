/** What a task rejected with, as an Error (always one in practice; wrapped if not). */
export function asError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : JSON.stringify(value));
}
