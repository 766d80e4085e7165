import { watch, watchFile, unwatchFile, type FSWatcher } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Logger } from '../../platform/logger.ts';

/**
 * Calls `onChange` soon after routes.yaml may have changed. Watching the file itself misses the
 * common cases: editors write a new file and rename it over the old one (the watched inode is
 * gone), and Kubernetes ConfigMaps swap a `..data` symlink in the directory. So the directory
 * holding the file and the directory holding its resolved target are watched, any event there
 * triggers a (debounced) re-read, and the content hash in the store makes spurious events free.
 * A 1 s stat poll backs this up on filesystems without inotify (NFS, some container mounts).
 */
export class RoutesFileWatcher {
  readonly #file: string;
  readonly #onChange: () => void;
  readonly #logger: Logger;
  readonly #watchers = new Map<string, FSWatcher>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: { file: string; onChange: () => void; logger: Logger; debounceMs?: number }) {
    this.#file = resolve(options.file);
    this.#onChange = options.onChange;
    this.#logger = options.logger;
    this.#debounceMs = options.debounceMs ?? 25;
  }

  readonly #debounceMs: number;

  async start(): Promise<void> {
    await this.#watchDirectories();
    watchFile(this.#file, { interval: 1000, persistent: false }, () => this.#changed());
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
    unwatchFile(this.#file);
  }

  #changed(): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#onChange();
      // A symlink swap may have moved the real file to another directory: follow it.
      void this.#watchDirectories();
    }, this.#debounceMs);
  }

  async #watchDirectories(): Promise<void> {
    const directories = new Set([dirname(this.#file)]);
    try {
      directories.add(dirname(await realpath(this.#file)));
    } catch {
      // The file is missing right now (mid-swap): the store reports that; keep the parent watched.
    }
    if (this.#closed) return;
    for (const [directory, watcher] of this.#watchers) {
      if (!directories.has(directory)) {
        watcher.close();
        this.#watchers.delete(directory);
      }
    }
    for (const directory of directories) {
      if (this.#watchers.has(directory)) continue;
      try {
        const watcher = watch(directory, { persistent: false }, () => this.#changed());
        watcher.on('error', (error) => this.#logger.warn({ err: error.message, directory }, 'routes.yaml watcher failed; the 1 s poll still reloads'));
        this.#watchers.set(directory, watcher);
      } catch (error) {
        this.#logger.warn({ err: (error as Error).message, directory }, 'cannot watch the routes directory; the 1 s poll still reloads');
      }
    }
  }
}
