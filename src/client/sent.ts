/**
 * When a request has left: Node's `fetch` (undici) writes a request's headers to its socket some
 * event-loop turns after `fetch()` is called (two on a kept-alive connection, measured on Node 22),
 * and publishes `undici:client:sendHeaders` on `node:diagnostics_channel` when it has. The
 * paginator sends the request for page k+1 and then validates page k: CPU work that holds the
 * event loop, so until the headers are written the request would wait for it instead of
 * travelling (issue 20: ~20 ms of each 100-item export page, measured from the client's call to the
 * server's arrival). {@link watchSent} lets a caller know that its request is on the wire.
 *
 * Requests are told apart by path and query (each page's carries its cursor). Another fetch of the
 * same URL at the same moment may end a wait a little early: no worse than not waiting. A `fetch`
 * that is not undici's publishes nothing; callers bound their wait (see pagination.ts). The channel
 * is subscribed only while a request is watched.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';

const CHANNEL = 'undici:client:sendHeaders';
const watchers = new Map<string, Set<() => void>>();

function onSendHeaders(message: unknown): void {
  const path = (message as { request?: { path?: unknown } } | null)?.request?.path;
  if (typeof path !== 'string') return;
  const callbacks = watchers.get(path);
  if (callbacks === undefined) return;
  watchers.delete(path);
  if (watchers.size === 0) unsubscribe(CHANNEL, onSendHeaders);
  for (const callback of callbacks) callback();
}

/**
 * Calls `callback` once the request for `url` has had its headers written (at most once). Returns
 * a function that stops watching (call it when the request settles, whether or not it was seen).
 */
export function watchSent(url: URL, callback: () => void): () => void {
  const path = `${url.pathname}${url.search}`;
  if (watchers.size === 0) subscribe(CHANNEL, onSendHeaders);
  let callbacks = watchers.get(path);
  if (callbacks === undefined) watchers.set(path, (callbacks = new Set()));
  callbacks.add(callback);
  return () => {
    const current = watchers.get(path);
    if (current === undefined || !current.delete(callback)) return;
    if (current.size === 0) watchers.delete(path);
    if (watchers.size === 0) unsubscribe(CHANNEL, onSendHeaders);
  };
}

/** Requests being watched (tests: nothing is left subscribed). */
export function watchedRequests(): number {
  let count = 0;
  for (const callbacks of watchers.values()) count += callbacks.size;
  return count;
}
