/**
 * File modes of what pleo-export keeps on this machine (issue 17: `state.db` was 0644 in a 0755
 * folder). The data folder is 0700, the state database (OAuth tokens, webhook secrets) and every
 * file a secret is read from are 0600. Created that way, whatever the umask; found looser on open,
 * tightened with a warning (a file we may not change — a read-only mount — is only warned about).
 */
import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  lstatSync,
  mkdirSync,
  openSync,
  statSync,
} from 'node:fs';

import { ConfigError } from '../errors/index.js';

export interface WarnLogger {
  warn(obj: object, msg?: string): void;
}

/**
 * The data folder: created 0700; an existing one open to others is set to 0700. The configured path
 * itself may be a symbolic link to the real folder (the operator chose it); links planted inside
 * the folder are what the other checks refuse.
 */
export function ensurePrivateDir(path: string, logger: WarnLogger): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  const stats = statSync(path);
  if (!stats.isDirectory()) throw new ConfigError(`dataDir ${path} is not a folder`);
  tighten(path, stats.mode, 0o700, logger);
}

/** A file that must stay private: created 0600 when missing (`create`), tightened when looser. */
export function ensurePrivateFile(path: string, logger: WarnLogger, create = false): void {
  let stats;
  try {
    stats = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    if (!create) return;
    const fd = openSync(
      path,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    );
    try {
      fchmodSync(fd, 0o600); // the umask may have taken bits away; never added any
    } finally {
      closeSync(fd);
    }
    return;
  }
  if (stats.isSymbolicLink()) {
    if (create)
      throw new ConfigError(`${path} is a symbolic link; pleo-export keeps its state in a plain file`);
    return; // a secret file a deployment links in (Kubernetes does): its target is not ours to change
  }
  if (stats.isFile()) tighten(path, stats.mode, 0o600, logger);
}

function tighten(path: string, mode: number, wanted: number, logger: WarnLogger): void {
  const current = mode & 0o777;
  if ((current & ~wanted) === 0) return;
  const shown = {
    path,
    mode: current.toString(8).padStart(4, '0'),
    wanted: wanted.toString(8).padStart(4, '0'),
  };
  try {
    chmodSync(path, current & wanted);
    logger.warn(shown, 'file mode was looser than private: tightened');
  } catch (error) {
    logger.warn(
      { ...shown, error: (error as NodeJS.ErrnoException).code ?? String(error) },
      'file mode is looser than private and cannot be changed: restrict it',
    );
  }
}
