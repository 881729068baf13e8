/**
 * Reading and saving template files for the console. A save goes only into the configured templates directory,
 * under a validated name, only when the same template checks as `chatops-bridge check` pass on the directory as
 * it would be after the save, and atomically (temp file + rename), so a running render never sees half a file.
 */
import { closeSync, cpSync, existsSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../config/schema';
import { NAME_PATTERN } from '../config/schema-primitives';
import { templateProblems } from '../rendering/template-check';
import { BUILTIN_TEMPLATE_DIR } from '../templates/engine';
import type { RenderTarget } from '../templates/render-target';

export const TEMPLATE_TARGETS: readonly RenderTarget[] = ['slack', 'discord', 'console'];
/** The largest template source the console accepts (the shipped ones are ~3 KB). */
export const TEMPLATE_SOURCE_MAX = 64 * 1024;

/** A usable template name: the config's name rule (no "/", no ".." start), and short. */
export function validTemplateName(name: string): boolean {
  return name.length <= 64 && NAME_PATTERN.test(name) && !name.includes('..') && name !== 'partials';
}

/**
 * Where template `name` for `target` lives in `dir`: the folder form `<name>/<target>.hbs` when that file exists,
 * else `<name>.<target>.hbs`. Throws for a name that could leave the directory (defence in depth after the check).
 */
export function templateFile(dir: string, name: string, target: RenderTarget): string {
  if (!validTemplateName(name) || !TEMPLATE_TARGETS.includes(target)) throw new Error('invalid template name or target');
  const root = path.resolve(dir);
  const folder = path.join(root, name, `${target}.hbs`);
  const file = existsSync(folder) ? folder : path.join(root, `${name}.${target}.hbs`);
  if (!file.startsWith(root + path.sep)) throw new Error('template path leaves the templates directory');
  return file;
}

/** A template's source as the engine loads it: the user's file, else the shipped one; null when neither exists. */
export function readTemplate(config: Config, name: string, target: RenderTarget): { source: string; origin: 'user' | 'shipped' } | null {
  for (const [dir, origin] of [[config.templates.dir, 'user'], [BUILTIN_TEMPLATE_DIR, 'shipped']] as const) {
    const file = templateFile(dir, name, target);
    if (existsSync(file)) return { source: readFileSync(file, 'utf8'), origin };
  }
  return null;
}

export type SaveResult =
  | { ok: true; file: string; warnings: string[] }
  | { ok: false; status: 400 | 422; error: string; errors: string[]; warnings: string[] };

/**
 * Saves `source` as template `name` for `target` after `check`'s template checks pass on a copy of the directory
 * with the new file in place (compile, render against the sample alerts, limits). Returns the file written
 * (relative to the templates dir) and check's warnings; on failure nothing is written.
 */
export function saveTemplate(config: Config, name: string, target: RenderTarget, source: string): SaveResult {
  if (!validTemplateName(name) || !TEMPLATE_TARGETS.includes(target)) {
    return { ok: false, status: 400, error: 'invalid_name', errors: ['a template name is letters, digits, ".", "_" and "-" (at most 64), starting with a letter or digit'], warnings: [] };
  }
  if (source.length > TEMPLATE_SOURCE_MAX) return { ok: false, status: 400, error: 'too_large', errors: [`a template is at most ${TEMPLATE_SOURCE_MAX} characters`], warnings: [] };
  const dir = path.resolve(config.templates.dir);
  const file = templateFile(dir, name, target);
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'cb-template-check-'));
  let problems: { errors: string[]; warnings: string[] };
  try {
    if (existsSync(dir)) cpSync(dir, scratch, { recursive: true });
    const candidate = path.join(scratch, path.relative(dir, file));
    mkdirSync(path.dirname(candidate), { recursive: true });
    writeFileAtomic(candidate, source);
    // Messages name the scratch copy; say the real directory instead.
    const relabel = (m: string) => m.split(scratch).join(dir);
    const found = templateProblems({ ...config, templates: { ...config.templates, dir: scratch } });
    problems = { errors: found.errors.map(relabel), warnings: found.warnings.map(relabel) };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  if (problems.errors.length > 0) return { ok: false, status: 422, error: 'check_failed', ...problems };
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, source);
  return { ok: true, file: path.relative(dir, file), warnings: problems.warnings };
}

/** Writes `content` to a temp file beside `file`, syncs it, then renames it over `file` (atomic on POSIX). */
function writeFileAtomic(file: string, content: string): void {
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(temp, 'wx', 0o644);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(temp, file);
  } catch (error) {
    unlinkSync(temp);
    throw error;
  }
}
