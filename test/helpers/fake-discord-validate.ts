import { IS_COMPONENTS_V2, textDisplays, validateRow, validateV2Components, type Add, type Len, type Url } from './fake-discord-components';

/**
 * Pure validator for Discord message create/edit bodies (channel messages and webhook executes), encoding
 * platform-limits.md B1 (limits), B2 (webhook component rules), B3 (allowed_mentions) and PART C.
 *
 * Discord counts code points (B1, discord-api-docs#1315) while discord.js builders count UTF-16 units. By default
 * both are checked, so a message passes only if it would pass the stricter one; `count: 'codepoints'` relaxes to
 * exactly what Discord enforces.
 */

export interface DiscordValidateOptions {
  /** The body goes to `POST/PATCH /webhooks/:id/:token…` rather than `/channels/:id/messages`. */
  webhook: boolean;
  /** `?with_components=true` was in the query (required for components on plain webhooks). */
  withComponents: boolean;
  /** Application-owned webhooks may send interactive components; plain ones may not. Default false. */
  applicationOwned?: boolean;
  /** PATCH (edit): an empty body is fine; allowed_mentions is still required (edits re-parse, B3). */
  edit?: boolean;
  /** `'utf16'` (default) checks code points and UTF-16 units; `'codepoints'` only what Discord counts. */
  count?: 'utf16' | 'codepoints';
  /** Substrings that must not appear in any string of the body. */
  forbiddenSubstrings?: string[];
  /** An edit of a message that already is Components V2: its components follow V2 rules even without `flags`. */
  messageIsV2?: boolean;
}

/** One problem; `path` is the JSON path as Discord's 50035 `errors` object nests it. */
export interface DiscordIssue {
  path: (string | number)[];
  /** Discord-style error code, e.g. BASE_TYPE_MAX_LENGTH; BRIDGE_* for rules Discord would not enforce itself. */
  code: string;
  message: string;
}

/** Embed limits (B1). */
const EMBED = { title: 256, description: 4096, fields: 25, name: 256, value: 1024, footer: 2048, author: 256, total: 6000 };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const codePoints = (s: string): number => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

/** Formats a path as `embeds[0].fields[2].value` (or `(body)` for the root). */
export function formatDiscordPath(path: (string | number)[]): string {
  if (path.length === 0) return '(body)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** Validates a create/edit body; returns `"<path>: <problem>"` strings, empty when acceptable. */
export function validateDiscordMessage(body: unknown, opts: DiscordValidateOptions): string[] {
  return collectDiscordIssues(body, opts).map((i) => `${formatDiscordPath(i.path)}: ${i.message}`);
}

/** Builds Discord's nested 50035 `errors` object (`{embeds:{0:{title:{_errors:[…]}}}}`) from issues. */
export function discordErrorsObject(issues: DiscordIssue[]): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const i of issues) {
    let node = root;
    for (const seg of i.path) {
      const k = String(seg);
      node[k] = isObj(node[k]) ? node[k] : {};
      node = node[k] as Record<string, unknown>;
    }
    const list = (node._errors as unknown[] | undefined) ?? [];
    list.push({ code: i.code, message: i.message });
    node._errors = list;
  }
  return root;
}

/** Detailed form of {@link validateDiscordMessage}. */
export function collectDiscordIssues(body: unknown, opts: DiscordValidateOptions): DiscordIssue[] {
  const issues: DiscordIssue[] = [];
  const add = (path: (string | number)[], code: string, message: string): void => {
    issues.push({ path, code, message });
  };
  if (!isObj(body)) {
    add([], 'DICT_TYPE_CONVERT', 'body must be a JSON object');
    return issues;
  }
  const utf16 = (opts.count ?? 'utf16') === 'utf16';
  /** Length check in code points (what Discord enforces) and UTF-16 (discord.js builders, stricter). */
  const len = (v: unknown, path: (string | number)[], max: number, required: boolean): number => {
    if (v === undefined || v === null) {
      if (required) add(path, 'BASE_TYPE_REQUIRED', 'This field is required');
      return 0;
    }
    if (typeof v !== 'string') {
      add(path, 'BASE_TYPE_STRING', `must be a string (got ${typeof v})`);
      return 0;
    }
    // Discord trims leading/trailing whitespace (B1), so a whitespace-only required string is empty.
    if (required && v.trim() === '') add(path, 'BASE_TYPE_REQUIRED', 'must not be empty or whitespace-only');
    const cp = codePoints(v);
    if (cp > max) add(path, 'BASE_TYPE_MAX_LENGTH', `Must be ${max} or fewer in length (got ${cp} code points)`);
    else if (utf16 && v.length > max) {
      add(path, 'BRIDGE_UTF16_MAX_LENGTH', `${v.length} UTF-16 units > ${max} (${cp} code points: Discord accepts, discord.js builders reject)`);
    }
    return utf16 ? v.length : cp;
  };
  const url = (v: unknown, path: (string | number)[], max?: number, allowAttachment = false): void => {
    if (v === undefined) return;
    const s = typeof v === 'string' ? v : '';
    let ok = false;
    try {
      const u = new URL(s);
      ok = u.protocol === 'http:' || u.protocol === 'https:' || (allowAttachment && u.protocol === 'attachment:');
    } catch {
      ok = false;
    }
    if (!ok) add(path, 'URL_TYPE_INVALID_URL', `Not a well formed http(s) URL: ${JSON.stringify(s.slice(0, 80))}`);
    if (max !== undefined && s.length > max) add(path, 'BASE_TYPE_MAX_LENGTH', `Must be ${max} or fewer in length (got ${s.length})`);
  };

  const hasContent = typeof body.content === 'string' && body.content.trim() !== '';
  if (body.content !== undefined && body.content !== null) len(body.content, ['content'], 2000, false);

  // Embeds.
  let embedCount = 0;
  if (body.embeds !== undefined && body.embeds !== null) {
    if (!Array.isArray(body.embeds)) add(['embeds'], 'BASE_TYPE_ARRAY', 'must be an array');
    else {
      embedCount = body.embeds.length;
      if (body.embeds.length > 10) add(['embeds'], 'BASE_TYPE_MAX_LENGTH', `Must be 10 or fewer in length (got ${body.embeds.length})`);
      let total = 0;
      body.embeds.forEach((e, i) => {
        total += validateEmbed(e, ['embeds', i], len, url, add);
      });
      if (total > EMBED.total) add(['embeds'], 'MAX_EMBED_SIZE_EXCEEDED', `Embed size exceeds maximum size of 6000 (got ${total})`);
    }
  }

  // Components: legacy action rows, or the Components V2 tree (fake-discord-components.ts).
  let componentCount = 0;
  const flagged = typeof body.flags === 'number' && (body.flags & IS_COMPONENTS_V2) !== 0;
  const v2 = flagged || opts.messageIsV2 === true;
  if (v2) validateV2Message(body, opts, add);
  if (body.components !== undefined && body.components !== null) {
    if (!Array.isArray(body.components)) add(['components'], 'BASE_TYPE_ARRAY', 'must be an array');
    else if (!v2) componentCount = validateComponents(body.components, opts, len, url, add);
    else {
      const plainWebhook = opts.webhook && !opts.applicationOwned;
      componentCount = validateV2Components(body.components, { len, url, add, plainWebhook, customIds: new Set() });
    }
  }
  if (flagged && !opts.edit && componentCount === 0) add(['components'], 'BASE_TYPE_REQUIRED', 'a Components V2 message needs at least one component');

  if (!opts.edit && !hasContent && embedCount === 0 && componentCount === 0 && !hasOther(body)) {
    add([], 'EMPTY_MESSAGE', 'Cannot send an empty message');
  }

  validateMentions(body, opts, add);

  if (body.nonce !== undefined) {
    const n = body.nonce;
    if (!(typeof n === 'string' && n.length <= 25) && !Number.isInteger(n)) add(['nonce'], 'BASE_TYPE_BAD', 'nonce must be a string of ≤25 chars or an integer');
  }
  if (body.enforce_nonce === true && body.nonce === undefined) add(['enforce_nonce'], 'BASE_TYPE_BAD', 'enforce_nonce requires nonce');
  if (opts.webhook && body.username !== undefined) {
    len(body.username, ['username'], 80, true);
    if (typeof body.username === 'string' && /clyde|discord/i.test(body.username)) {
      add(['username'], 'USERNAME_INVALID_CONTAINS', 'Username cannot contain "clyde" or "discord"');
    }
  }
  for (const f of opts.forbiddenSubstrings ?? []) {
    walkStrings(body, [], (s, path) => {
      if (f !== '' && s.includes(f)) add(path, 'BRIDGE_FORBIDDEN', `contains forbidden substring ${JSON.stringify(f)}`);
    });
  }
  return issues;
}

/**
 * With IS_COMPONENTS_V2 (message.mdx L1091–1098, webhook.mdx L247–256): `content`, `embeds`, `sticker_ids` and
 * `poll` are refused (an edit may reset them to null / [] to upgrade a message); a webhook needs
 * `?with_components=true` to send one; the flag cannot be removed by an edit (checked by the fake, which knows the
 * stored message).
 */
function validateV2Message(body: Record<string, unknown>, opts: DiscordValidateOptions, add: Add): void {
  if (body.content !== undefined && body.content !== null) add(['content'], 'BASE_TYPE_BAD', 'a Components V2 message cannot have content');
  if (Array.isArray(body.embeds) ? body.embeds.length > 0 : body.embeds !== undefined && body.embeds !== null) add(['embeds'], 'BASE_TYPE_BAD', 'a Components V2 message cannot have embeds');
  if (Array.isArray(body.sticker_ids) && body.sticker_ids.length > 0) add(['sticker_ids'], 'BASE_TYPE_BAD', 'a Components V2 message cannot have stickers');
  if (body.poll !== undefined && body.poll !== null) add(['poll'], 'BASE_TYPE_BAD', 'a Components V2 message cannot have a poll');
  if (opts.webhook && !opts.withComponents) add(['flags'], 'BRIDGE_V2_WITHOUT_WITH_COMPONENTS', 'a webhook sends a Components V2 message only with ?with_components=true');
}

function hasOther(body: Record<string, unknown>): boolean {
  const nonEmpty = (v: unknown): boolean => Array.isArray(v) && v.length > 0;
  return nonEmpty(body.sticker_ids) || nonEmpty(body.attachments) || isObj(body.poll);
}

/** Returns the embed's contribution to the 6000 total. */
function validateEmbed(e: unknown, p: (string | number)[], len: Len, url: Url, add: Add): number {
  if (!isObj(e)) {
    add(p, 'DICT_TYPE_CONVERT', 'embed must be an object');
    return 0;
  }
  let total = 0;
  total += len(e.title, [...p, 'title'], EMBED.title, e.title !== undefined);
  total += len(e.description, [...p, 'description'], EMBED.description, e.description !== undefined);
  url(e.url, [...p, 'url']);
  if (e.timestamp !== undefined && (typeof e.timestamp !== 'string' || Number.isNaN(Date.parse(e.timestamp)))) {
    add([...p, 'timestamp'], 'DATE_TYPE_PARSE', 'Could not parse timestamp as ISO8601');
  }
  if (e.color !== undefined && e.color !== null && !(Number.isInteger(e.color) && (e.color as number) >= 0 && (e.color as number) <= 0xffffff)) {
    add([...p, 'color'], 'NUMBER_TYPE_MAX', `color must be an integer 0–16777215 (got ${JSON.stringify(e.color)})`);
  }
  if (e.footer !== undefined) {
    const f = isObj(e.footer) ? e.footer : {};
    total += len(f.text, [...p, 'footer', 'text'], EMBED.footer, true);
    url(f.icon_url, [...p, 'footer', 'icon_url'], undefined, true);
  }
  if (e.author !== undefined) {
    const a = isObj(e.author) ? e.author : {};
    total += len(a.name, [...p, 'author', 'name'], EMBED.author, true);
    url(a.url, [...p, 'author', 'url']);
    url(a.icon_url, [...p, 'author', 'icon_url'], undefined, true);
  }
  for (const k of ['image', 'thumbnail'] as const) {
    if (e[k] !== undefined) url(isObj(e[k]) ? e[k].url : undefined, [...p, k, 'url'], undefined, true);
  }
  if (e.fields !== undefined) {
    if (!Array.isArray(e.fields)) add([...p, 'fields'], 'BASE_TYPE_ARRAY', 'must be an array');
    else {
      if (e.fields.length > EMBED.fields) add([...p, 'fields'], 'BASE_TYPE_MAX_LENGTH', `Must be 25 or fewer in length (got ${e.fields.length})`);
      e.fields.forEach((f, j) => {
        const fo = isObj(f) ? f : {};
        total += len(fo.name, [...p, 'fields', j, 'name'], EMBED.name, true);
        total += len(fo.value, [...p, 'fields', j, 'value'], EMBED.value, true);
        if (fo.inline !== undefined && typeof fo.inline !== 'boolean') add([...p, 'fields', j, 'inline'], 'BASE_TYPE_BOOLEAN', 'must be a boolean');
      });
    }
  }
  return total;
}

/** Legacy action rows (B1/B2). Returns the number of top-level components. */
function validateComponents(rows: unknown[], opts: DiscordValidateOptions, len: Len, url: Url, add: Add): number {
  if (rows.length > 5) add(['components'], 'BASE_TYPE_MAX_LENGTH', `Must be 5 or fewer action rows (got ${rows.length})`);
  const plainWebhook = opts.webhook && !opts.applicationOwned;
  if (plainWebhook && rows.length > 0 && !opts.withComponents) {
    add(['components'], 'BRIDGE_COMPONENTS_DROPPED', 'plain webhook without ?with_components=true: Discord silently drops components');
  }
  const customIds = new Set<string>();
  rows.forEach((row, i) => {
    const rp: (string | number)[] = ['components', i];
    if (!isObj(row) || row.type !== 1) {
      add([...rp, 'type'], 'COMPONENT_LAYOUT_INVALID', 'top-level components must be action rows (type 1)');
      return;
    }
    validateRow(row, rp, { len, url, add, plainWebhook, customIds });
  });
  return rows.length;
}

/**
 * B3: allowed_mentions must be present and allow nothing beyond explicit id lists; any mention in `content` that
 * the effective allowance would ping is reported too (embeds never ping).
 */
function validateMentions(body: Record<string, unknown>, opts: DiscordValidateOptions, add: Add): void {
  const am = body.allowed_mentions;
  // Defaults when the field is omitted (B3): webhooks/interactions parse users; regular messages parse everything.
  let parse: string[] = opts.webhook ? ['users'] : ['users', 'roles', 'everyone'];
  let users: string[] = [];
  let roles: string[] = [];
  if (am === undefined || am === null) {
    add(['allowed_mentions'], 'BRIDGE_ALLOWED_MENTIONS_MISSING', 'allowed_mentions must be present ({parse: []}); the default pings');
  } else if (!isObj(am)) {
    add(['allowed_mentions'], 'DICT_TYPE_CONVERT', 'must be an object');
  } else {
    parse = Array.isArray(am.parse) ? am.parse.filter((x): x is string => typeof x === 'string') : [];
    users = Array.isArray(am.users) ? am.users.map(String) : [];
    roles = Array.isArray(am.roles) ? am.roles.map(String) : [];
    if (am.parse !== undefined && !Array.isArray(am.parse)) add(['allowed_mentions', 'parse'], 'BASE_TYPE_ARRAY', 'must be an array');
    if (parse.length > 0) {
      add(['allowed_mentions', 'parse'], 'BRIDGE_ALLOWED_MENTIONS_PARSE', `must be [] (got ${JSON.stringify(parse)}); use explicit users/roles lists instead`);
    }
    if (parse.includes('users') && am.users !== undefined) add(['allowed_mentions'], 'MENTION_CONFLICT', 'parse "users" and users list are mutually exclusive');
    if (parse.includes('roles') && am.roles !== undefined) add(['allowed_mentions'], 'MENTION_CONFLICT', 'parse "roles" and roles list are mutually exclusive');
    if (users.length > 100 || roles.length > 100) add(['allowed_mentions'], 'BASE_TYPE_MAX_LENGTH', 'users/roles lists hold at most 100 ids');
  }
  // Text displays ping like content does (unlike embeds): "Pingable mentions… will ping… based on allowed_mentions".
  const texts = [...(typeof body.content === 'string' ? [{ path: ['content'], text: body.content }] : []), ...textDisplays(body.components).map((text) => ({ path: ['components'], text }))];
  for (const { path, text: c } of texts) {
    const pings: string[] = [];
    if (parse.includes('everyone')) pings.push(...(c.match(/@(?:everyone|here)/g) ?? []));
    for (const m of c.matchAll(/<@!?(\d+)>/g)) if (parse.includes('users') || users.includes(m[1]!)) pings.push(m[0]);
    for (const m of c.matchAll(/<@&(\d+)>/g)) if (parse.includes('roles') || roles.includes(m[1]!)) pings.push(m[0]);
    if (pings.length > 0) add(path, 'BRIDGE_LIVE_MENTION', `would ping: ${[...new Set(pings)].join(', ')}`);
  }
}

function walkStrings(v: unknown, path: (string | number)[], visit: (s: string, path: (string | number)[]) => void): void {
  if (typeof v === 'string') visit(v, path);
  else if (Array.isArray(v)) v.forEach((x, i) => walkStrings(x, [...path, i], visit));
  else if (isObj(v)) for (const [k, x] of Object.entries(v)) walkStrings(x, [...path, k], visit);
}
