/**
 * A local directory as a backup store. Writes are atomic and never replace a file: the stream goes to a
 * hidden temporary file in the same directory, which is fsynced and, only when the whole stream arrived,
 * hard-linked to its name. link(2) fails if the name exists (unlike rename, which replaces it), so of two
 * runs writing one name, one wins and the other gets ObjectExistsError. The temporary file is removed
 * in every case.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { link, mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ObjectExistsError, type PutOptions, type Storage, type StoredObject } from './storage.js';

const TEMP_SUFFIX = '.partial';

export class LocalStorage implements Storage {
  readonly kind = 'local' as const;
  readonly location: string;

  constructor(private readonly dir: string) {
    this.location = dir;
  }

  /** The directory does not exist (yet): nothing was ever written there, or the volume is not mounted. */
  async missing(): Promise<boolean> {
    try {
      await stat(this.dir);
      return false;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
      throw error;
    }
  }

  async put(name: string, body: Readable, options: PutOptions = {}): Promise<{ size: number }> {
    await mkdir(this.dir, { recursive: true });
    const temp = join(this.dir, `.${name}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`);
    const path = join(this.dir, name);
    let linked = false;
    try {
      await pipeline(
        body,
        createWriteStream(temp, { flags: 'wx', mode: 0o640, highWaterMark: 1 << 20 }),
        options.signal ? { signal: options.signal } : {},
      );
      // fsync flushes the file's data whichever descriptor asks; then the link makes it visible, if the
      // name is free: the check and the creation are one step, so nothing can slip in between.
      const size = await syncFile(temp);
      try {
        await createIfAbsent(temp, path, () => (linked = true));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST')
          throw new ObjectExistsError(name, this.location, undefined, { cause: error });
        throw error;
      }
      await rm(temp, { force: true });
      await syncFile(this.dir);
      return { size };
    } catch (error) {
      await rm(temp, { force: true }).catch(() => undefined);
      // Only a file this call linked is removed; one that was there before is never touched.
      if (linked) await rm(path, { force: true }).catch(() => undefined);
      body.destroy();
      throw error;
    }
  }

  get(name: string): Promise<Readable> {
    return new Promise((resolve, reject) => {
      const stream = createReadStream(join(this.dir, name), { highWaterMark: 1 << 20 });
      stream.once('open', () => resolve(stream));
      stream.once('error', reject);
    });
  }

  async *list(namePrefix = ''): AsyncIterable<StoredObject> {
    let entries: string[];
    try {
      entries = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const name of entries) {
      if (!name.startsWith(namePrefix) || name.endsWith(TEMP_SUFFIX)) continue;
      const object = await this.stat(name);
      if (object) yield object;
    }
  }

  async stat(name: string): Promise<StoredObject | undefined> {
    try {
      const info = await stat(join(this.dir, name));
      return info.isFile() ? { name, size: info.size, modifiedAt: info.mtime } : undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async delete(name: string): Promise<void> {
    try {
      await unlink(join(this.dir, name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}

/** Error codes of file systems without hard links (some network and FUSE mounts). */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

/**
 * Makes `temp` visible as `path` only if `path` does not exist (EEXIST otherwise). A hard link does both
 * in one step. Where the file system has no hard links, the name is claimed first with an exclusive
 * create (an empty file, briefly visible) and the temporary file renamed over that claim, which is ours.
 * `created` is called once `path` is ours.
 */
async function createIfAbsent(temp: string, path: string, created: () => void): Promise<void> {
  try {
    await link(temp, path);
    created();
    return;
  } catch (error) {
    if (!NO_LINKS.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
  }
  await (await open(path, 'wx', 0o640)).close();
  created();
  await rename(temp, path);
}

/** fsync a file (or a directory, so that a rename in it survives a crash); returns its size. */
async function syncFile(path: string): Promise<number> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
    return (await handle.stat()).size;
  } finally {
    await handle.close();
  }
}
