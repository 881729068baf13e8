/**
 * `${VAR}` / `${VAR:-default}` / `${file:/path}` interpolation of config values from the environment and from secret
 * files (Docker/Kubernetes secrets; also `VAR_FILE` when `VAR` is unset).
 *
 * Interpolation runs on the parsed YAML document's scalar *values*, never on the raw text: an env value containing
 * YAML syntax (quotes, `: `, `[`, newlines) then only ever becomes the text of one scalar and cannot add keys, close a
 * flow sequence or inject a route. It also means each scalar's line is known for error messages. Messages name the
 * variable (or file path) and the key, never the value (they are usually secrets).
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { ConfigProblem } from './problem';

/** Result of interpolating one string. */
export interface InterpolateResult {
  /** The text with every reference replaced (an unset variable without default becomes ""). */
  value: string;
  /** Names of referenced variables that are unset and have no default, in order of appearance. */
  missing: string[];
  /** Syntax errors such as an unterminated `${` (never containing variable values). */
  errors: string[];
  /** The substituted values, so callers can redact them from any later message. */
  substituted: string[];
}

const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A secret file larger than this is a mistake (a log, a device), not a token: refuse rather than read it. */
const MAX_SECRET_FILE_BYTES = 64 * 1024;

/**
 * Reads a secret file: a regular file of at most 64 KiB, UTF-8, with one trailing newline (`\n` or `\r\n`) removed,
 * since `echo token > file` and most editors add one. Returns why it cannot be read instead of throwing; the reason
 * never contains the file's content.
 */
export function readSecretFile(path: string): { ok: true; value: string } | { ok: false; reason: string } {
  if (!isAbsolute(path)) return { ok: false, reason: 'the path must be absolute' };
  let fd: number | undefined;
  try {
    // Open (non-blocking, so a FIFO cannot hang start-up), then check the open file: no window between the check and
    // the read, and a FIFO or device (which could block or never end) is refused before anything is read from it.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { ok: false, reason: stat.isDirectory() ? 'it is a directory' : 'not a regular file' };
    if (stat.size > MAX_SECRET_FILE_BYTES) return { ok: false, reason: `larger than ${MAX_SECRET_FILE_BYTES} bytes` };
    const buffer = Buffer.alloc(stat.size);
    let read = 0;
    while (read < buffer.length) {
      const n = readSync(fd, buffer, read, buffer.length - read, read);
      if (n === 0) break;
      read += n;
    }
    return { ok: true, value: buffer.subarray(0, read).toString('utf8').replace(/\r?\n$/, '') };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : (code ?? 'read error');
    return { ok: false, reason };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Interpolate `text` from `env` (and secret files).
 * - `${VAR}`: the value of VAR; unset → listed in `missing` (an empty value counts as set). When VAR is unset or
 *   empty and `VAR_FILE` is set, the content of the file VAR_FILE names (the Docker secrets convention; an empty VAR
 *   is what `VAR=` in an env file gives, never a useful secret); a non-empty VAR wins over VAR_FILE.
 * - `${VAR:-default}`: VAR (or the VAR_FILE file) when set and non-empty, else `default` (which may be empty; shell
 *   semantics).
 * - `${file:/abs/path}`: the content of that file, one trailing newline removed; no default form.
 * - A file that cannot be read is an error naming the path and the reason (never the content), not a fallback to
 *   the default: a configured secret file that is missing is a deployment mistake worth stopping for.
 * - `$${`: a literal `${` (so a value can contain `${` verbatim).
 * - A `$` not followed by `{` is literal. Nested references in a default are not supported and reported.
 */
export function interpolate(text: string, env: NodeJS.ProcessEnv): InterpolateResult {
  const result: InterpolateResult = { value: '', missing: [], errors: [], substituted: [] };
  let out = '';
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf('$', i);
    if (dollar === -1) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, dollar);
    if (text.startsWith('$${', dollar)) {
      out += '${';
      i = dollar + 3;
      continue;
    }
    if (text[dollar + 1] !== '{') {
      out += '$';
      i = dollar + 1;
      continue;
    }
    const close = text.indexOf('}', dollar + 2);
    if (close === -1) {
      result.errors.push('unterminated "${" (write "$${" for a literal "${")');
      out += text.slice(dollar);
      break;
    }
    const body = text.slice(dollar + 2, close);
    i = close + 1;
    if (body.startsWith('file:')) {
      const file = body.slice('file:'.length);
      const read = file === '' ? { ok: false as const, reason: 'the path is empty' } : readSecretFile(file);
      if (read.ok) {
        out += read.value;
        if (read.value !== '') result.substituted.push(read.value);
      } else {
        result.errors.push(`secret file ${JSON.stringify(file)} cannot be read: ${read.reason}`);
      }
      continue;
    }
    const sep = body.indexOf(':-');
    const varName = sep === -1 ? body : body.slice(0, sep);
    const fallback = sep === -1 ? undefined : body.slice(sep + 2);
    if (!VAR_NAME.test(varName)) {
      // Only echo the reference when it looks like a name; anything else could be pasted secret text.
      const shown = /^[A-Za-z0-9_]{1,64}$/.test(varName) ? ` "${varName}"` : '';
      result.errors.push(`invalid variable reference${shown}: use letters, digits and "_", not starting with a digit`);
      continue;
    }
    if (fallback !== undefined && fallback.includes('${')) {
      result.errors.push(`nested "\${" in the default of ${varName} is not supported`);
      continue;
    }
    let value = env[varName];
    const fileVar = `${varName}_FILE`;
    const secretFile = env[fileVar];
    if ((value === undefined || value === '') && secretFile) {
      const read = readSecretFile(secretFile);
      if (!read.ok) {
        result.errors.push(`environment variable ${varName} is not set and ${fileVar} names a file that cannot be read (${JSON.stringify(secretFile)}: ${read.reason})`);
        continue;
      }
      value = read.value;
    }
    if (fallback !== undefined && (value === undefined || value === '')) {
      out += fallback;
    } else if (value === undefined) {
      result.missing.push(varName);
    } else {
      out += value;
      if (value !== '') result.substituted.push(value);
    }
  }
  result.value = out;
  return result;
}

/** Render a key path the way problems show it: `routes[1].to[0]`, `destinations.soc-slack.channel`. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(part)) out += out === '' ? part : `.${part}`;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

/** What interpolating a whole document produced. */
export interface DocumentInterpolation {
  problems: ConfigProblem[];
  /** Every substituted env value, for redaction of later messages. */
  substituted: string[];
}

/**
 * Interpolate every string scalar *value* of `doc` in place (map keys are left alone: names are not configurable
 * from the environment). Returns one problem per unset variable / syntax error, with key path and 1-based line. A
 * value with an unset variable keeps its `${…}` text.
 */
export function interpolateDocument(doc: Document, env: NodeJS.ProcessEnv, loc: Locator): DocumentInterpolation {
  const acc: DocumentInterpolation = { problems: [], substituted: [] };
  // Aliases point at an anchored node that is visited once where it is defined; `seen` guards against cycles.
  const seen = new Set<Node>();
  const walk = (node: unknown, path: (string | number)[]): void => {
    if (node === null || typeof node !== 'object' || seen.has(node as Node)) return;
    seen.add(node as Node);
    if (isScalar(node)) {
      if (typeof node.value !== 'string' || !node.value.includes('$')) return;
      const r = interpolate(node.value, env);
      // An unset variable leaves the reference as written, not "": the load fails on the unset variable anyway,
      // and checks that only ask whether a key is set (a console user's token, discord.token for discord
      // destinations) must not add problems that contradict it ("give either token, or username and password").
      // Checks of the value's form report on the same key and are dropped as its echo (see loadConfigText).
      if (r.missing.length === 0) node.value = r.value;
      acc.substituted.push(...r.substituted);
      const line = loc.lineOf(node);
      const where = formatPath(path);
      for (const v of r.missing) {
        acc.problems.push({ path: where, line, message: `environment variable ${v} is not set` });
      }
      for (const e of r.errors) acc.problems.push({ path: where, line, message: e });
    } else if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = isScalar(pair.key) ? pair.key.value : pair.key;
        walk(pair.value, [...path, String(key)]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => walk(item, [...path, index]));
    }
  };
  walk(doc.contents, []);
  return acc;
}

/** Maps key paths and offsets of one parsed document to 1-based lines, so every problem can say where it is. */
export class Locator {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** Line of a character offset in the source text. */
  lineAt(offset: number): number {
    return this.lines.linePos(offset).line;
  }

  /** Line where `node` starts, when it came from the source. */
  lineOf(node: unknown): number | undefined {
    const range = (node as Node | null | undefined)?.range;
    return range ? this.lineAt(range[0]) : undefined;
  }

  /**
   * Line of the entry at `path`: for a map entry the line of its *key* (a block value starts below it), for a list
   * item its first line. A path that does not exist reports its nearest existing ancestor (a missing required key
   * points at the map that lacks it).
   */
  line(path: readonly (string | number)[]): number | undefined {
    for (let n = path.length; n > 0; n--) {
      const parent = n === 1 ? this.doc.contents : this.doc.getIn(path.slice(0, n - 1), true);
      const key = path[n - 1];
      let line: number | undefined;
      if (isMap(parent)) {
        const pair = parent.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(key));
        line = pair && this.lineOf(pair.key);
      } else if (isSeq(parent) && typeof key === 'number') line = this.lineOf(parent.items[key]);
      if (line !== undefined) return line;
    }
    return this.lineOf(this.doc.contents);
  }
}

/**
 * Every duplicate map key in the document (the yaml library would keep only one value). Destination names are
 * map keys, so this is also the duplicate-destination check.
 */
export function duplicateKeys(doc: Document, loc: Locator): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const walk = (node: unknown, path: (string | number)[]): void => {
    if (isMap(node)) {
      const first = new Map<string, number | undefined>();
      for (const pair of node.items) {
        const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
        const line = loc.lineOf(pair.key);
        if (first.has(key)) {
          const what = path.length === 1 && path[0] === 'destinations' ? 'duplicate destination name' : 'duplicate key';
          const message = `${what} "${key}" (first defined at line ${first.get(key) ?? '?'})`;
          out.push({ path: formatPath([...path, key]), line, message });
        } else first.set(key, line);
        walk(pair.value, [...path, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...path, i]));
    }
  };
  walk(doc.contents, []);
  return out;
}
