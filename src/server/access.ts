/**
 * Who may call `POST /trigger`: the holder of `server.triggerToken` (Bearer, compared in constant
 * time) when one is configured; otherwise only a caller on this machine (loopback address).
 *
 * "Only loopback" protects nothing once the daemon is reachable from elsewhere: when it listens on
 * a non-loopback address, or when `server.publicUrl` is set (a reverse proxy on this host forwards
 * everyone's requests, and they all arrive from 127.0.0.1). In both cases a token is required and
 * the daemon refuses to start without one (issue 17, finding 5).
 */
import { timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

import { ConfigError } from '../errors/index.js';

export function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!match?.[1]) return false;
  const given = Buffer.from(match[1].trim());
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** 127.0.0.0/8, ::1 and their IPv4-mapped IPv6 forms. */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const plain = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  if (isIP(plain) === 4) return plain.startsWith('127.');
  return plain === '::1';
}

/** Whether a listen address (`server.host`) accepts connections from this machine only. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare.toLowerCase() === 'localhost') return true;
  return isIP(bare) !== 0 && isLoopback(bare);
}

/**
 * Throws a {@link ConfigError} when `/trigger` would be open to others: no `triggerToken` while the
 * daemon listens on a non-loopback address or `publicUrl` is set.
 */
export function requireTriggerToken(server: {
  host: string;
  publicUrl?: string | undefined;
  triggerToken?: string | undefined;
}): void {
  if (server.triggerToken !== undefined) return;
  const why = !isLoopbackHost(server.host)
    ? `the daemon listens on ${server.host}, which is not a loopback address`
    : server.publicUrl !== undefined
      ? 'server.publicUrl is set (behind a proxy every caller arrives from loopback)'
      : undefined;
  if (why === undefined) return;
  throw new ConfigError(
    `server.triggerToken is required: ${why}, so POST /trigger would be open to anyone who reaches it. ` +
      'Set server.triggerToken (or triggerTokenEnv / triggerTokenFile) to a long random value; callers then send Authorization: Bearer <token>.',
  );
}
