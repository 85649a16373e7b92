/**
 * Secrets at rest: the store's key-value records (OAuth tokens, webhook signing secrets,
 * subscription ids, and whatever an adapter keeps there) encrypted with a key the operator
 * configures (`secrets.keyFile` / `secrets.keyEnv`), the same way for SQLite and PostgreSQL
 * because it wraps the `Store` port rather than a database.
 *
 * Format (versioned, so a later scheme can be told apart): `enc:v1:<base64(nonce ‖ ciphertext ‖ tag)>`,
 * AES-256-GCM with a random 12-byte nonce per write and the record's key as additional
 * authenticated data — a ciphertext copied under another key (one company's tokens under another
 * company's name) does not decrypt.
 *
 * - Key configured, plain value read: it is returned and re-written encrypted (compare and set, so
 *   a concurrent update is never overwritten with the older value). Stores written before the key
 *   was configured migrate as they are used.
 * - Key configured, value encrypted with another key: a clear `INVALID_CONFIG` error.
 * - No key, encrypted value read: a clear `INVALID_CONFIG` error naming what to configure; the value
 *   is never handed out as if it were the secret.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

import { ConfigError } from '../errors/index.js';
import type { Store } from './types.js';

/** The prefix of an encrypted value of the current format. */
export const ENCRYPTED_VALUE_PREFIX = 'enc:v1:';
const ANY_ENCRYPTED = /^enc:v\d+:/;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** AES-256: the key is exactly this many bytes. */
export const SECRETS_KEY_BYTES = 32;

/**
 * Decodes a 32-byte key written as 64 hex digits or as base64 (standard or URL-safe, padded or
 * not; `openssl rand -base64 32` prints one). The error never repeats the text it was given.
 *
 * @example
 * parseSecretsKey(readFileSync('/run/secrets/pleo-export.key', 'utf8'), 'secrets.keyFile');
 */
export function parseSecretsKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) key = Buffer.from(trimmed, 'hex');
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) key = Buffer.from(trimmed, 'base64');
  if (key?.length !== SECRETS_KEY_BYTES) {
    throw new ConfigError(
      `${source}: expected a ${SECRETS_KEY_BYTES}-byte key written as 64 hex digits or 44 base64 characters ` +
        `(create one with \`openssl rand -base64 32\`), got ${trimmed.length} characters that are neither`,
    );
  }
  return key;
}

/** True when a stored value is in an encrypted form (of any version). */
export function isEncryptedValue(value: string): boolean {
  return ANY_ENCRYPTED.test(value);
}

/** Encrypts `plain`, bound to the record name `name`. */
export function encryptValue(key: Buffer, name: string, plain: string): string {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(name, 'utf8'));
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return ENCRYPTED_VALUE_PREFIX + Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64');
}

/** Decrypts a value written by {@link encryptValue} for the record `name`. */
export function decryptValue(key: Buffer, name: string, stored: string): string {
  if (!stored.startsWith(ENCRYPTED_VALUE_PREFIX)) {
    throw new ConfigError(
      `The stored value of ${name} is encrypted in a format this version does not know (${stored.slice(0, stored.indexOf(':', 4) + 1)}); use the pleo-export version that wrote it.`,
    );
  }
  const raw = Buffer.from(stored.slice(ENCRYPTED_VALUE_PREFIX.length), 'base64');
  if (raw.length < NONCE_BYTES + TAG_BYTES) throw undecryptable(name);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, NONCE_BYTES), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(Buffer.from(name, 'utf8'));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    return Buffer.concat([
      decipher.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8');
  } catch {
    throw undecryptable(name);
  }
}

function undecryptable(name: string): ConfigError {
  return new ConfigError(
    `The stored value of ${name} cannot be decrypted with the configured secrets key: configure the key it was written with (secrets.keyFile or secrets.keyEnv), or remove the record (for OAuth tokens: run \`pleo-export connect\` again).`,
  );
}

export interface EncryptedValuesOptions {
  /** The 32-byte key; absent → values are kept as given, and an encrypted one is refused on read. */
  key?: Buffer | undefined;
  /** Told when a plain value was re-written encrypted (the record name only, never the value). */
  onMigrated?: (name: string) => void;
}

/**
 * The store with its key-value records encrypted at rest (see the module comment). Every other
 * method is the wrapped store's own.
 *
 * @example
 * const store = withEncryptedValues(createSqliteStore({ path }), { key: parseSecretsKey(text, 'secrets.keyEnv') });
 */
export function withEncryptedValues(store: Store, options: EncryptedValuesOptions): Store {
  const key = options.key;
  /** The plain text of a stored value that is in an encrypted form. */
  const reveal = (name: string, stored: string): string => {
    if (key === undefined) {
      throw new ConfigError(
        `The stored value of ${name} is encrypted, but no secrets key is configured: set secrets.keyFile or secrets.keyEnv to the key it was written with.`,
      );
    }
    return decryptValue(key, name, stored);
  };
  const getValue = async (name: string): Promise<string | null> => {
    const stored = await store.getValue(name);
    if (stored === null) return null;
    if (isEncryptedValue(stored)) return reveal(name, stored);
    if (key !== undefined && (await store.replaceValue(name, stored, encryptValue(key, name, stored)))) {
      options.onMigrated?.(name);
    }
    return stored;
  };
  const setValue = (name: string, value: string | null): Promise<void> =>
    store.setValue(name, value === null || key === undefined ? value : encryptValue(key, name, value));
  const replaceValue = async (name: string, expected: string, next: string): Promise<boolean> => {
    // Compare with the stored form: the plain `expected` may be stored plain or encrypted.
    const stored = await store.getValue(name);
    if (stored === null) return false;
    const current = isEncryptedValue(stored) ? reveal(name, stored) : stored;
    if (current !== expected) return false;
    return store.replaceValue(name, stored, key === undefined ? next : encryptValue(key, name, next));
  };
  return new Proxy(store, {
    get(target, property) {
      if (property === 'getValue') return getValue;
      if (property === 'setValue') return setValue;
      if (property === 'replaceValue') return replaceValue;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
