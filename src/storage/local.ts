/**
 * A local directory as a backup store. Writes are atomic: the stream goes to a hidden temporary file in
 * the same directory, which is fsynced and renamed into place only when the whole stream arrived; on any
 * failure the temporary file is removed.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PutOptions, Storage, StoredObject } from './storage.js';

const TEMP_SUFFIX = '.partial';

export class LocalStorage implements Storage {
  readonly kind = 'local' as const;
  readonly location: string;

  constructor(private readonly dir: string) {
    this.location = dir;
  }

  async put(name: string, body: Readable, options: PutOptions = {}): Promise<{ size: number }> {
    await mkdir(this.dir, { recursive: true });
    const temp = join(this.dir, `.${name}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`);
    try {
      await pipeline(
        body,
        createWriteStream(temp, { flags: 'wx', mode: 0o640, highWaterMark: 1 << 20 }),
        options.signal ? { signal: options.signal } : {},
      );
      // fsync flushes the file's data whichever descriptor asks; then the rename makes it visible.
      const size = await syncFile(temp);
      await rename(temp, join(this.dir, name));
      await syncFile(this.dir);
      return { size };
    } catch (error) {
      await rm(temp, { force: true }).catch(() => undefined);
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
