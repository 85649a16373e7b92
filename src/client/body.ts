/**
 * Reading response bodies with a bound: nothing from the network is buffered past a limit the
 * caller chose (issue 16: a 400 MB page once took 1.76 GB; issue 17: a receipt declared 10 B
 * streamed 29 MB).
 */

/**
 * Streams a body into memory, at most `maxBytes`. Past the limit it either truncates (error
 * bodies) or calls `onOverflow` and cancels the stream (downloads).
 */
export async function readBytes(
  response: Response,
  maxBytes: number,
  overflow: 'truncate' | (() => Error),
  /** Sees every chunk kept, in order (e.g. to hash the content while it streams). */
  onChunk?: (chunk: Uint8Array) => void,
): Promise<Uint8Array> {
  const body = response.body;
  if (body === null) return new Uint8Array(0);
  const reader = (body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const room = maxBytes - size;
      if (value.byteLength > room) {
        if (overflow === 'truncate') {
          chunks.push(value.subarray(0, room));
          onChunk?.(value.subarray(0, room));
          size += room;
          break;
        }
        throw overflow();
      }
      chunks.push(value);
      onChunk?.(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** Bytes of a token endpoint's answer we read; a real one is a few KiB. */
export const MAX_TOKEN_BODY_BYTES = 1024 * 1024;

/** Reads at most `maxBytes` of a body as UTF-8 text; the rest is discarded (never buffered). */
export async function readCappedText(response: Response, maxBytes: number): Promise<string> {
  return new TextDecoder().decode(await readBytes(response, maxBytes, 'truncate'));
}
