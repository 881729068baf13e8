/**
 * Config loader: YAML → `${ENV}` interpolation → zod → semantic checks, reporting every problem with its key path
 * and 1-based line, never stopping at the first. Problems and warnings never contain secret values.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { SEVERITIES } from '../domain/alert';
import { configSchema, knownKeysAt, type Config } from './schema';
import { duplicateKeys, formatPath, interpolateDocument, Locator } from './interpolate';
import { silenceWarnings, triageWarnings } from './triage-checks';
import { escalateWarnings } from './escalate-checks';
import { layoutWarnings } from './layout-checks';
import { roleRefusal } from './serve-role';
import type { ConfigProblem } from './problem';
import { plainMessages, REQUIRED } from '../domain/validation-messages';


/** Outcome of loading a config: a validated `Config`, or every problem found. Warnings are reported either way. */
export type LoadResult =
  | { ok: true; config: Config; warnings: ConfigProblem[] }
  | { ok: false; problems: ConfigProblem[]; warnings: ConfigProblem[] };

type Path = (string | number)[];

/**
 * Load a config from YAML text.
 * @param env the environment for `${VAR}` interpolation and the `PORT` override (pass `process.env` in production).
 * @param sourceName file name used in messages that refer to the file as a whole.
 * @returns `ok: true` with the defaulted `Config`, or `ok: false` with all problems sorted by line.
 */
export function loadConfigText(text: string, env: NodeJS.ProcessEnv, sourceName = 'config'): LoadResult {
  const lines = new LineCounter();
  // prettyErrors off: the pretty form quotes the offending source line, which may hold a literal secret.
  // uniqueKeys off: duplicate keys are reported below with the key path and the first definition's line.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false, merge: true });
  const loc = new Locator(doc, lines);
  const problems: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  const at = (offset: number | undefined) => (offset === undefined ? undefined : lines.linePos(offset).line);

  for (const e of doc.errors) {
    const line = at(e.pos[0]);
    // `[${A}]` is a classic: unquoted, `{` opens a flow map. Hint at quoting (without quoting the line itself).
    const source = line === undefined ? '' : (text.split('\n')[line - 1] ?? '');
    const hint = /[[{,]\s*\$\{/.test(source) ? ' (inside [ ] or { }, quote values that use ${…}: "${VAR}")' : '';
    problems.push({ path: '', line, message: `YAML syntax: ${e.message}${hint}` });
  }
  for (const w of doc.warnings) warnings.push({ path: '', line: at(w.pos[0]), message: `YAML: ${w.message}` });
  problems.push(...duplicateKeys(doc, loc));

  const interpolation = interpolateDocument(doc, env, loc);
  problems.push(...interpolation.problems);
  const secrets = new Set(interpolation.substituted);

  // After a syntax error the structure is a guess; schema errors about it would be noise, so stop here.
  if (doc.errors.length > 0) return finish(problems, warnings, secrets);

  const raw: unknown = doc.toJS();
  if (raw === null || raw === undefined) {
    problems.push({ path: '', line: 1, message: `${sourceName} is empty: it needs at least destinations and routes` });
    return finish(problems, warnings, secrets);
  }
  collectSecrets(raw, secrets);

  // PORT wins over server.port (platforms like Heroku/Cloud Run assign it) and is validated by the same schema.
  const portFromEnv = env.PORT !== undefined && env.PORT !== '' && isObject(raw);
  if (portFromEnv) {
    const server = isObject(raw.server) ? raw.server : {};
    raw.server = { ...server, port: env.PORT };
  }

  const parsed = configSchema.safeParse(raw, { error: plainMessages });
  const found = parsed.success ? [] : parsed.error.issues.flatMap((i) => issueProblems(i, [], raw, loc, portFromEnv));
  const semantic = semanticChecks(raw, parsed.success ? parsed.data : undefined, loc);
  found.push(...semantic.problems);
  // An unset variable is the cause; a problem or warning about the form of the same key would only be its echo.
  const unset = new Set(interpolation.problems.map((p) => p.path));
  problems.push(...found.filter((p) => !unset.has(p.path)));
  warnings.push(...semantic.warnings.filter((w) => !unset.has(w.path)));

  if (problems.length === 0 && parsed.success) {
    return { ok: true, config: parsed.data, warnings: redact(sortByLine(warnings), secrets) };
  }
  return finish(problems, warnings, secrets);
}

/**
 * Load a config file (see `loadConfigText`). A missing or unreadable file is a single problem with an empty path.
 */
export function loadConfigFile(path: string, env: NodeJS.ProcessEnv): LoadResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (code ?? 'read error');
    return { ok: false, problems: [{ path: '', message: `cannot read config file ${path}: ${why}` }], warnings: [] };
  }
  return loadConfigText(text, env, baseName(path));
}

/**
 * Format problems one per line: `chatops-bridge.yaml:12 slack.token: environment variable X is not set`.
 * Line-less problems omit `:line`; a whole-file problem omits the path. `kind: 'warning'` prefixes "warning: ".
 */
export function formatProblems(
  problems: readonly ConfigProblem[],
  fileName: string,
  kind: 'error' | 'warning' = 'error',
): string {
  return problems
    .map((p) => {
      const where = p.line === undefined ? fileName : `${fileName}:${p.line}`;
      const label = kind === 'warning' ? 'warning: ' : '';
      return `${where} ${label}${p.path ? `${p.path}: ` : ''}${p.message}`;
    })
    .join('\n');
}

// ---------------------------------------------------------------------------------------------------------------

function finish(problems: ConfigProblem[], warnings: ConfigProblem[], secrets: Set<string>): LoadResult {
  const clean = (list: ConfigProblem[]) => redact(sortByLine(list), secrets);
  return { ok: false, problems: clean(problems), warnings: clean(warnings) };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() || path;
}

/** Line-less (whole-file / environment) problems first, then by line; stable otherwise. */
function sortByLine(list: ConfigProblem[]): ConfigProblem[] {
  return list
    .map((p, i) => ({ p, i }))
    .sort((a, b) => (a.p.line ?? 0) - (b.p.line ?? 0) || a.i - b.i)
    .map(({ p }) => p);
}

/** Values of fields that hold secrets, so a message can never echo them even by accident. */
function collectSecrets(raw: unknown, secrets: Set<string>): void {
  if (!isObject(raw)) return;
  const add = (v: unknown) => typeof v === 'string' && secrets.add(v);
  const pick = (o: unknown, ...keys: string[]) => keys.forEach((k) => isObject(o) && add(o[k]));
  pick(raw.slack, 'token', 'signingSecret');
  pick(raw.discord, 'token');
  const sources = isObject(raw.sources) ? raw.sources : {};
  for (const source of Object.values(sources)) {
    const auth = isObject(source) ? source.auth : undefined;
    // Any string anywhere under an auth block (tokens, bearer lists, basic passwords) is a credential.
    JSON.stringify(auth ?? null, (_k, v: unknown) => (add(v), v));
  }
  if (isObject(raw.destinations)) for (const d of Object.values(raw.destinations)) pick(d, 'url');
  if (isObject(raw.console) && Array.isArray(raw.console.users)) for (const u of raw.console.users) pick(u, 'token', 'password');
}

/** Defense in depth: replace any secret (≥ 4 chars, so common words are not mangled) in messages. */
function redact(list: ConfigProblem[], secrets: Set<string>): ConfigProblem[] {
  const words = [...secrets].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  if (words.length === 0) return list;
  return list.map((p) => ({ ...p, message: words.reduce((m, s) => m.split(s).join('[redacted]'), p.message) }));
}

/** Turn one zod issue into problems with readable messages, key paths and lines. */
function issueProblems(
  issue: z.core.$ZodIssue,
  base: Path,
  raw: unknown,
  loc: Locator,
  portFromEnv: boolean,
): ConfigProblem[] {
  const path: Path = [...base, ...(issue.path as Path)];
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const hint = suggest(key, knownKeysAt(path, raw));
      const at = [...path, key];
      return { path: formatPath(at), line: loc.line(at), message: `unknown key "${key}"${hint}` };
    });
  }
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    // Report the branch whose shape matched (its errors are specific); otherwise the union's own summary. For a map,
    // a literal branch (`off`) is no match either: `silence: { durations: [90s] }` names the bad duration.
    const isMap = isObject(valueAt(raw, path));
    const wrongType = (e: z.core.$ZodIssue) => (e.code === 'invalid_type' || (isMap && e.code === 'invalid_value')) && e.path.length === 0;
    const fitting = issue.errors.filter((errs) => !errs.every(wrongType));
    if (fitting.length === 1) return fitting[0]!.flatMap((e) => issueProblems(e, path, raw, loc, portFromEnv));
  }
  if (issue.code === 'invalid_key') {
    const why = issue.issues[0]?.message ?? issue.message;
    return [{ path: formatPath(path), line: loc.line(path), message: why }];
  }
  const value = valueAt(raw, path);
  let message = issue.message;
  // A missing key is said to be required whatever check noticed it (a type, an enum, a union's discriminator).
  if (value === undefined && issue.code !== 'custom' && !message.startsWith(REQUIRED)) message = `${REQUIRED} (${message})`;
  if (portFromEnv && formatPath(path) === 'server.port') {
    return [{ path: 'server.port', message: `environment variable PORT ${message}` }];
  }
  return [{ path: formatPath(path), line: loc.line(path), message }];
}

function valueAt(raw: unknown, path: Path): unknown {
  let v: unknown = raw;
  for (const k of path) v = isObject(v) || Array.isArray(v) ? (v as Record<string | number, unknown>)[k] : undefined;
  return v;
}

/** ` (did you mean "channel"?)` when a known name is within edit distance 2, else a list of what is allowed. */
function suggest(key: string, known: string[], listLabel = 'allowed here'): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  if (best) return ` (did you mean "${best}"?)`;
  return known.length > 0 ? ` (${listLabel}: ${known.join(', ')})` : '';
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

// --- semantic checks -------------------------------------------------------------------------------------------

/** Alert types Panther is known to send (panther-webhook.md §3); others only warn: new ones appear. */
const KNOWN_PANTHER_TYPES = [
  'RULE', 'RULE_ERROR', 'SCHEDULED_RULE', 'SCHEDULED_RULE_ERROR', 'POLICY',
  'CORRELATION_RULE', 'CORRELATION_RULE_ERROR', 'SYSTEM_ERROR',
  'ALERT', // Alertmanager and Grafana alerts
];

const isTrue = (v: unknown) => v === true || v === 'true';

/** A match block that lets every alert through (absent, or only criteria that cannot exclude anything). */
function isCatchAll(match: unknown): boolean {
  if (match === undefined) return true;
  if (!isObject(match)) return false;
  return Object.entries(match).every(([key, v]) => {
    if (v === undefined) return true;
    if (key === 'severity') {
      return (isObject(v) && v.min === 'INFO') || (Array.isArray(v) && SEVERITIES.every((s) => v.includes(s)));
    }
    if (key === 'detection') return v === '*' || (Array.isArray(v) && v.includes('*'));
    if (key === 'tags') return isObject(v) && Object.values(v).every((l) => Array.isArray(l) && l.length === 0);
    return false;
  });
}

/** Unauthenticated label-based sources warn; two sources on one path are an error (one would shadow the other). */
function labelSourceChecks(sources: Record<string, unknown>, warn: (path: Path, message: string) => void, err: (path: Path, message: string) => void): void {
  const defaults: Record<string, string> = { panther: '/webhooks/panther', alertmanager: '/webhooks/alertmanager', grafana: '/webhooks/grafana' };
  const paths = new Map<string, string>();
  for (const [name, fallback] of Object.entries(defaults)) {
    const section = sources[name];
    if (!isObject(section)) continue;
    if (name !== 'panther' && section.auth === undefined) {
      warn(['sources', name], 'no auth configured: unauthenticated webhook — anyone reaching it can post alerts');
    }
    const path = typeof section.path === 'string' ? section.path : fallback;
    const other = paths.get(path);
    if (other) err(['sources', name, 'path'], `same path as sources.${other} ("${path}")`);
    else paths.set(path, name);
  }
}

/**
 * Checks zod cannot express: cross-references, duplicates, unreachable routes and risky settings. Runs on the raw
 * (interpolated) input so it still reports when the schema failed elsewhere; `config` is set only when it passed.
 */
function semanticChecks(raw: unknown, config: Config | undefined, loc: Locator) {
  const problems: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  const add = (list: ConfigProblem[]) => (path: Path, message: string) =>
    list.push({ path: formatPath(path), line: loc.line(path), message });
  const [err, warn] = [add(problems), add(warnings)];
  if (!isObject(raw)) return { problems, warnings };

  const destinations = isObject(raw.destinations) ? raw.destinations : {};
  const routes = Array.isArray(raw.routes) ? raw.routes : [];
  const used = new Set<string>();
  const routeNames = new Map<string, number>();
  let catchAll: { name: string; index: number } | undefined;

  routes.forEach((route: unknown, i) => {
    if (!isObject(route)) return;
    const name = typeof route.name === 'string' ? route.name : `routes[${i}]`;
    const first = routeNames.get(name);
    if (first !== undefined) {
      const at = loc.line(['routes', first, 'name']);
      err(['routes', i, 'name'], `duplicate route name "${name}" (first used at line ${at})`);
    } else if (typeof route.name === 'string') routeNames.set(name, i);
    if (catchAll) {
      const why = `route "${catchAll.name}" (line ${loc.line(['routes', catchAll.index])}) matches every alert`;
      warn(['routes', i], `route "${name}" can never match: ${why} and has no "continue: true"`);
    }
    if (typeof route.to === 'string') used.add(route.to); // already reported as "must be a list"; not also unused
    const seen = new Set<string>();
    (Array.isArray(route.to) ? route.to : []).forEach((dest: unknown, j) => {
      if (typeof dest !== 'string' || dest === '') return;
      used.add(dest);
      if (!Object.hasOwn(destinations, dest)) {
        const hint = suggest(dest, Object.keys(destinations), 'defined');
        err(['routes', i, 'to', j], `unknown destination "${dest}"${hint}`);
      } else if (seen.has(dest)) warn(['routes', i, 'to', j], `destination "${dest}" is listed twice`);
      seen.add(dest);
    });
    const types: unknown[] = isObject(route.match) && Array.isArray(route.match.type) ? route.match.type : [];
    types.forEach((t, j) => {
      if (typeof t !== 'string' || !/^[A-Z][A-Z0-9_]*$/.test(t) || KNOWN_PANTHER_TYPES.includes(t)) return;
      const known = KNOWN_PANTHER_TYPES.join(', ');
      warn(['routes', i, 'match', 'type', j], `"${t}" is not an alert type Panther is known to send (${known})`);
    });
    if (!catchAll && isCatchAll(route.match) && !isTrue(route.continue)) catchAll = { name, index: i };
  });

  const hasToken = (section: unknown) => isObject(section) && typeof section.token === 'string' && section.token !== '';
  for (const [name, dest] of Object.entries(destinations)) {
    if (routes.length > 0 && !used.has(name)) {
      warn(['destinations', name], `destination "${name}" is not used by any route`);
    }
    const type = isObject(dest) ? dest.type : undefined;
    // A present-but-empty slack.token is already a schema problem on slack.token itself.
    if (type === 'slack' && !isObject(raw.slack)) {
      err(['destinations', name, 'type'], 'slack destinations need slack.token (a top-level "slack:" section)');
    }
    if (type === 'discord' && !hasToken(raw.discord)) {
      err(['destinations', name, 'type'], 'discord destinations need discord.token (discord-webhook ones do not)');
    }
  }

  const slackToken = isObject(raw.slack) ? raw.slack.token : undefined;
  if (typeof slackToken === 'string' && slackToken !== '' && !slackToken.startsWith('xox')) {
    warn(['slack', 'token'], 'does not look like a Slack token (a bot token starts with "xoxb-")');
  }

  const sources = isObject(raw.sources) ? raw.sources : {};
  if (Object.keys(sources).length === 0) warn(['sources'], 'no source configured: no webhook will accept alerts');
  const panther = sources.panther;
  if (isObject(panther) && panther.auth === undefined) {
    warn(['sources', 'panther'], 'no auth configured: unauthenticated webhook — anyone reaching it can post alerts');
  } else if (isObject(panther) && isObject(panther.auth) && Array.isArray(panther.auth.tokens)) {
    const firstIndex = new Map<string, number>();
    panther.auth.tokens.forEach((token: unknown, j) => {
      if (typeof token !== 'string' || token === '') return;
      const prev = firstIndex.get(token);
      // Name the colliding entries, never the token.
      if (prev === undefined) firstIndex.set(token, j);
      else err(['sources', 'panther', 'auth', 'tokens', j], `duplicate token (same as tokens[${prev}])`);
    });
  }

  labelSourceChecks(sources, warn, err);

  if (config) {
    const refusal = roleRefusal(config.server.role, config.store.engine);
    if (refusal) err(['server', 'role'], refusal);
    const d = config.delivery;
    if (d.leaseMs <= d.requestTimeoutMs) {
      const why = 'a lease that expires mid-request lets a second worker post the alert again';
      err(['delivery', 'leaseMs'], `must be longer than delivery.requestTimeoutMs (${d.requestTimeoutMs}): ${why}`);
    }
    if (d.backoff.maxMs < d.backoff.initialMs) {
      err(['delivery', 'backoff', 'maxMs'], `must be at least delivery.backoff.initialMs (${d.backoff.initialMs})`);
    }
    for (const w of triageWarnings(config, (i) => isObject(routes[i]) && (routes[i] as Record<string, unknown>).triage !== undefined)) warn(w.path, w.message);
    for (const w of escalateWarnings(config)) warn(w.path, w.message);
    for (const w of silenceWarnings(config)) warn(w.path, w.message);
    for (const w of layoutWarnings(config)) warn(w.path, w.message);
  }
  return { problems, warnings };
}
