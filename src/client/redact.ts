/**
 * Keeping credentials out of error messages, logs and metrics.
 *
 * The client never *builds* a message from a header, a token or a query string, so redaction is
 * defence in depth: it covers text we do not control (Pleo's `message`, an OAuth server's
 * `error_description`, a custom fetch's error) that might echo a credential back.
 */

const REDACTED = '[REDACTED]';

/** Credential shapes recognised without knowing the secret itself. */
const PATTERNS: readonly (readonly [RegExp, string])[] = [
  // key=value / "key": "value" for OAuth and API-key fields (form bodies, JSON, query strings,
  // header dumps); an auth scheme word after `authorization:` is part of the value.
  [
    /((?:access_token|refresh_token|id_token|client_secret|api_?key|apiKey|password|authorization)["']?\s*[:=]\s*["']?)(?:(?:Bearer|Basic)\s+)?[^"'&\s,}]+/gi,
    `$1${REDACTED}`,
  ],
  // Authorization header values: `Bearer eyJ…`, `Basic dXNlcjo=`
  [/\b(Bearer|Basic)\s+(?!\[REDACTED\])[A-Za-z0-9\-._~+/]{6,}=*/g, `$1 ${REDACTED}`],
  // JWTs (Pleo's bearer tokens are JWTs), wherever they appear
  [/\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, REDACTED],
  // Credentials inside a URL (issue 17): `https://user:password@host` keeps the user name,
  // `https://token@host` (a user name alone is often a token) is masked whole.
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s/?#@:"'<>]*:)(?!\[REDACTED\]@)[^\s/?#@"'<>]*@/gi, `$1${REDACTED}@`],
  [/\b([a-z][a-z0-9+.-]*:\/\/)(?!\[REDACTED\]@)[^\s/?#@:"'<>]+@/gi, `$1${REDACTED}@`],
  // Secret-like query parameters: `?token=…`, `&X-Amz-Signature=…`, `&sig=…`, `&apikey=…` (issue 17)
  [
    /([?&;][\w.-]*(?:token|key|secret|signature|password|passwd|pwd|sig|credential|auth)=)(?!\[REDACTED\])[^&#\s"'<>]+/gi,
    `$1${REDACTED}`,
  ],
];

/** Secrets shorter than this are not substituted: replacing every "a" would destroy the message. */
const MIN_SECRET_LENGTH = 6;

/**
 * Returns `text` with credentials replaced by `[REDACTED]`: every given secret verbatim, plus
 * anything that looks like an Authorization header value, an OAuth/API-key field, the user
 * information of a URL or a secret-like query parameter. The one place the project masks
 * credentials in text: client errors, logs and `config --print` all go through it.
 *
 * @example
 * redact('401 for Bearer eyJhbGciOi…'); // '401 for Bearer [REDACTED]'
 * redact('postgres://app:hunter2@db/x'); // 'postgres://app:[REDACTED]@db/x'
 * redact('GET https://files.example/r.pdf?X-Amz-Signature=abc'); // '…?X-Amz-Signature=[REDACTED]'
 * redact('key abc123secret leaked', ['abc123secret']); // 'key [REDACTED] leaked'
 */
export function redact(text: string, secrets: Iterable<string> = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= MIN_SECRET_LENGTH) out = out.split(secret).join(REDACTED);
  }
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/**
 * The secrets one client knows about (its API key and the header built from it, and every
 * access token it has used, most recent first), so `redact` can substitute them verbatim.
 * Bounded: old rotated tokens fall out after {@link Redactor.capacity} entries.
 */
export class Redactor {
  static readonly capacity = 32;
  private readonly secrets = new Set<string>();

  add(secret: string | undefined): void {
    if (secret === undefined || secret.length < MIN_SECRET_LENGTH || this.secrets.has(secret)) return;
    this.secrets.add(secret);
    if (this.secrets.size > Redactor.capacity) {
      const oldest = this.secrets.values().next();
      if (oldest.done !== true) this.secrets.delete(oldest.value);
    }
  }

  redact(text: string): string {
    return redact(text, this.secrets);
  }
}

/**
 * A copy of a JSON-like value with {@link redact} applied to every string in it (keys are kept);
 * for log records and printed configurations. Depth-bounded: deeper values are replaced whole.
 */
export function redactDeep(value: unknown, depth = 8): unknown {
  if (typeof value === 'string') return redact(value);
  if (typeof value !== 'object' || value === null) return value;
  if (depth <= 0) return REDACTED;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth - 1));
  if (value instanceof Error) {
    const copy = new Error(redact(value.message));
    copy.name = value.name;
    copy.stack = value.stack === undefined ? '' : redact(value.stack);
    return copy;
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v, depth - 1)]));
}
