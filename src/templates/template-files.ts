/**
 * What the template engine reads of its directories, behind an interface, so that a delivery thread compiles exactly
 * the template files the main thread checked and accepted instead of whatever is on disk when it (re)starts.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** One entry of a directory listing. */
export interface ListedEntry {
  name: string;
  isFile: boolean;
  isDirectory: boolean;
}

/** The engine's reads of template directories. Each throws (ENOENT and the like) as the file system would. */
export interface TemplateFiles {
  exists(p: string): boolean;
  list(dir: string): ListedEntry[];
  read(file: string): string;
}

/** Every answer a {@link recordingFiles} gave, as plain data (it crosses to a worker thread by structured clone). */
export interface TemplateFilesSnapshot {
  /** File path → its text, as read. */
  files: Record<string, string>;
  /** Directory path → its listing, as read. */
  dirs: Record<string, ListedEntry[]>;
}

/** The files as they are on disk now. */
export const diskFiles: TemplateFiles = {
  exists: (p) => existsSync(p),
  list: (dir) => readdirSync(dir, { withFileTypes: true }).map((e) => ({ name: e.name, isFile: e.isFile(), isDirectory: e.isDirectory() })),
  read: (file) => readFileSync(file, 'utf8'),
};

/** Reads from disk and keeps what it read: {@link snapshot} is then what an engine built on it compiled. */
export function recordingFiles(): TemplateFiles & { snapshot(): TemplateFilesSnapshot } {
  const recorded: TemplateFilesSnapshot = { files: {}, dirs: {} };
  return {
    exists: (p) => diskFiles.exists(p),
    list: (dir) => (recorded.dirs[dir] = diskFiles.list(dir)),
    read: (file) => (recorded.files[file] = diskFiles.read(file)),
    snapshot: () => recorded,
  };
}

/**
 * Answers from a snapshot only: a path it does not hold does not exist. An engine built on it compiles the same
 * templates as the engine whose reads were recorded, whatever the disk holds meanwhile.
 */
export function replayedFiles(snapshot: TemplateFilesSnapshot): TemplateFiles {
  const missing = (p: string) => Object.assign(new Error(`ENOENT: no such file or directory, open '${p}'`), { code: 'ENOENT' });
  return {
    exists: (p) => Object.hasOwn(snapshot.files, p) || Object.hasOwn(snapshot.dirs, p),
    list: (dir) => {
      const listed = snapshot.dirs[dir];
      if (!listed) throw missing(dir);
      return listed;
    },
    read: (file) => {
      if (!Object.hasOwn(snapshot.files, file)) throw missing(file);
      return snapshot.files[file]!;
    },
  };
}
