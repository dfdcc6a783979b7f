/**
 * The Node build of the SDK: the same client with file access injected, so `backupFile` and
 * `bootstrap: {file}` work, and an instance id from the host name and process id.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { SwitchyardClient as CoreClient, type SwitchyardOptions } from './client.js';
import { fileStorage, type BackupStorage, type FileIO } from './storage.js';

export * from './index.js';
export { currentScope, runWithOutcomes, scopeOf, switchyardExpress, switchyardFastify, withSwitchyard, type MiddlewareOptions, type RequestEnd } from './middleware.js';

/** Reads files (undefined when missing) and writes them atomically: a temporary file in the same directory, then rename. */
export const nodeFileIO: FileIO = {
  async readText(path) {
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  },
  async writeTextAtomic(path, text) {
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, text, { encoding: 'utf8', mode: 0o600 });
      await rename(tmp, path);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
  },
};

/** A backup file at `path`. */
export function fileBackup(path: string): BackupStorage {
  return fileStorage(path, nodeFileIO);
}

export class SwitchyardClient extends CoreClient {
  constructor(options: SwitchyardOptions) {
    super({ io: nodeFileIO, ...options, instanceId: options.instanceId ?? `${options.appName}-${hostname()}-${process.pid}` });
  }
}
