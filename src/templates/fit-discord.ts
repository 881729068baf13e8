/**
 * Makes whatever a user template produced postable as a Discord create-message body (API snake_case) without
 * tripping a limit or pinging anyone (reference B1, B3, B6, PART C.3). Tests check its output with an independent
 * validator (test/helpers/limit-violations.ts).
 */
import { createHash } from 'node:crypto';
import { cloneJsonValue, isHttpUrl } from './escape';
import { DISCORD_LIMITS as L } from './limits';
import { shrinkLongestFirst, truncateText, type TextSlot } from './truncate';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Substituted for empty required strings (field name/value, footer text, author name, button label). */
export const DISCORD_PLACEHOLDER = '—';
const SNOWFLAKE = /^\d{17,20}$/;
/**
 * Message flag of a Components V2 message (`1 << 15`): it forbids content and embeds (400), and cannot be removed
 * once set. Templates render the embed layout; only the V2 layout (discord-v2-layout.ts) sets it.
 */
export const IS_COMPONENTS_V2 = 1 << 15;
const NONCE_MAX = 25;
/** Embed (and embed author) `url`: Discord rejects longer ones ("Must be 2048 or fewer in length"). */
export const EMBED_URL_MAX = 2048;
const isEmbedUrl = (u: unknown): boolean => isHttpUrl(u) && u.length <= EMBED_URL_MAX;

const ISO_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-](\d{2}):?(\d{2}))?$/;

/**
 * True for an ISO-8601 date-time with a four-digit year that names a real day and time and whose instant (UTC)
 * lies in years 0001–9999; Discord rejects `0000-…`, `+010000-…` and anything `Date.parse` merely tolerates.
 */
export function isDiscordTimestamp(t: unknown): boolean {
  if (typeof t !== 'string') return false;
  const m = ISO_TIMESTAMP.exec(t);
  if (!m) return false;
  const [y, mo, d, h, mi] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number, number];
  const sec = m[6] === undefined ? 0 : Number(m[6]);
  const oh = m[8] === undefined ? 0 : Number(m[8]);
  const om = m[9] === undefined ? 0 : Number(m[9]);
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59 || oh > 23 || om > 59) return false;
  const date = new Date(Date.UTC(2000, mo - 1, d, h, mi, sec));
  if (date.getUTCMonth() !== mo - 1) return false; // day beyond the month's end (31 April), checked in a leap year
  if (mo === 2 && d === 29 && !(y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0))) return false;
  date.setUTCFullYear(y);
  const sign = m[7]?.startsWith('-') ? -1 : 1;
  const utcYear = new Date(date.getTime() - sign * (oh * 60 + om) * 60_000).getUTCFullYear();
  return utcYear >= 1 && utcYear <= 9999;
}
/** http(s), or a file uploaded with the same request. Media fields accept these; embed/author `url` only http(s). */
export const isMediaUrl = (u: unknown): boolean => isHttpUrl(u) || (typeof u === 'string' && /^attachment:\/\/[^\s/]+$/.test(u));

export interface FitDiscordOptions {
  /** false for plain (non-application-owned) webhooks: they can only send link buttons (reference B2). */
  allowInteractive: boolean;
}

/** What a fit collects: warnings, and the strings that share a budget (the embed total). */
export interface FitCtx { warnings: string[]; slots: Array<TextSlot & { embed: Obj }> }
type Ctx = FitCtx;

/**
 * Fits holder[key] as a string: trimmed (Discord trims anyway, so our counts match the API's), cut to `max` with a
 * visible marker and never inside an escape. Blank optional strings are removed, blank required ones get the
 * placeholder (builders reject `''`). `embed` registers the string for the 6000-character total.
 */
export function fitStr(ctx: Ctx, holder: Obj, key: string, path: string, max: number, required: boolean, embed?: Obj): void {
  const v = holder[key];
  if (v === undefined && !required) return;
  if (v !== undefined && typeof v !== 'string' && typeof v !== 'number') ctx.warnings.push(`${path} was not a string`);
  const s = typeof v === 'string' || typeof v === 'number' ? String(v).trim() : '';
  if (s === '' && !required) {
    delete holder[key];
    if (v !== '') ctx.warnings.push(`${path} was blank; removed`);
    return;
  }
  if (s === '') ctx.warnings.push(`${path} was empty; replaced with "${DISCORD_PLACEHOLDER}"`);
  const r = truncateText(s || DISCORD_PLACEHOLDER, max, { escapeStyle: 'discord' });
  if (r.truncated) ctx.warnings.push(`${path} truncated from ${s.length} to ${r.text.length} characters`);
  holder[key] = r.text;
  if (embed) ctx.slots.push({ holder, key, path, escapeStyle: 'discord', embed });
}

/** Removes holder[key] unless `ok(value)`; used for URLs and other all-or-nothing values. */
export function keepIf(ctx: Ctx, holder: Obj, key: string, path: string, ok: (v: unknown) => boolean, why: string): void {
  if (holder[key] !== undefined && !ok(holder[key])) {
    delete holder[key];
    ctx.warnings.push(`${path}.${key} removed: ${why}`);
  }
}

/** Fits a sub-object (footer/author/image/thumbnail): removed if not an object. */
function sub(ctx: Ctx, e: Obj, key: string, path: string, fit: (o: Obj, p: string) => void): void {
  if (e[key] === undefined) return;
  if (!isObj(e[key])) keepIf(ctx, e, key, path, () => false, 'not an object');
  else fit(e[key] as Obj, `${path}.${key}`);
}

/** holder[key] as a colour integer 0..0xFFFFFF (an embed's `color`, a container's `accent_color`), else removed. */
export function fitColor(ctx: Ctx, holder: Obj, key: string, path: string): void {
  const c = holder[key];
  if (typeof c === 'string' && /^(#|0x)?[0-9a-f]{6}$/i.test(c.trim())) {
    holder[key] = parseInt(c.trim().replace(/^(#|0x)/i, ''), 16); // "#ff0000" is a common template slip
  }
  keepIf(ctx, holder, key, path, (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= L.maxColor, 'not an integer 0..0xFFFFFF');
}

function fitEmbed(ctx: Ctx, e: Obj, p: string): void {
  fitStr(ctx, e, 'title', `${p}.title`, L.embedTitle, false, e);
  fitStr(ctx, e, 'description', `${p}.description`, L.embedDescription, false, e);
  keepIf(ctx, e, 'url', p, isEmbedUrl, `not an http(s) URL of at most ${EMBED_URL_MAX} characters`);
  fitColor(ctx, e, 'color', p);
  keepIf(ctx, e, 'timestamp', p, isDiscordTimestamp, 'not an ISO8601 timestamp with a year in 0001..9999');
  if (e.fields !== undefined) {
    const all = Array.isArray(e.fields) ? e.fields : [];
    const fields = all.filter(isObj);
    if (fields.length !== all.length || !Array.isArray(e.fields)) ctx.warnings.push(`${p}.fields: non-object entries dropped`);
    if (fields.length > L.embedFields) {
      // Keep the reader informed: the last slot says how many fields did not fit.
      const hidden = fields.length - (L.embedFields - 1);
      ctx.warnings.push(`${p}.fields: ${hidden} beyond the limit of ${L.embedFields} moved to "+${hidden} more"`);
      e.fields = [...fields.slice(0, L.embedFields - 1), { name: '…', value: `+${hidden} more`, inline: false }];
    } else e.fields = fields;
    (e.fields as Obj[]).forEach((f, i) => {
      fitStr(ctx, f, 'name', `${p}.fields[${i}].name`, L.fieldName, true, e);
      fitStr(ctx, f, 'value', `${p}.fields[${i}].value`, L.fieldValue, true, e);
      if (f.inline !== undefined) f.inline = f.inline === true;
    });
  }
  sub(ctx, e, 'footer', p, (o, q) => {
    fitStr(ctx, o, 'text', `${q}.text`, L.footerText, true, e);
    keepIf(ctx, o, 'icon_url', q, isMediaUrl, 'not an http(s)/attachment URL');
  });
  sub(ctx, e, 'author', p, (o, q) => {
    fitStr(ctx, o, 'name', `${q}.name`, L.authorName, true, e);
    keepIf(ctx, o, 'url', q, isEmbedUrl, `not an http(s) URL of at most ${EMBED_URL_MAX} characters`);
    keepIf(ctx, o, 'icon_url', q, isMediaUrl, 'not an http(s)/attachment URL');
  });
  // video: Discord ignores it in sent embeds, but a removed (foreign) url must not travel as null.
  for (const media of ['image', 'thumbnail', 'video']) {
    sub(ctx, e, media, p, (o) => keepIf(ctx, e, media, p, () => isMediaUrl(o.url), 'url is not an http(s)/attachment URL'));
  }
  const visible = ['title', 'description', 'fields', 'footer', 'author', 'image', 'thumbnail'];
  if (!visible.some((k) => e[k] !== undefined && !(Array.isArray(e[k]) && (e[k] as unknown[]).length === 0))) {
    ctx.warnings.push(`${p} was empty; description set to "${DISCORD_PLACEHOLDER}"`);
    e.description = DISCORD_PLACEHOLDER;
    ctx.slots.push({ holder: e, key: 'description', path: `${p}.description`, escapeStyle: 'discord', embed: e });
  }
}

/**
 * Fits a string select (type 3, the bridge's Silence menu); false = drop it. Sent only where interactions come
 * back (never by a plain webhook); custom_id 1..100 and unique; 1..25 options, each with a label ≤100 and a unique
 * value ≤100; placeholder ≤150.
 */
function fitSelect(ctx: Ctx, c: Obj, p: string, interactive: boolean, customIds: Set<string>): boolean {
  const drop = (why: string): boolean => (ctx.warnings.push(`${p} dropped: ${why}`), false);
  if (!interactive) return drop('select menus cannot be sent by a plain webhook');
  const id = c.custom_id;
  if (typeof id !== 'string' || id.length < 1 || id.length > L.customId) return drop(`custom_id must be 1..${L.customId} characters`);
  if (customIds.has(id)) return drop(`duplicate custom_id ${JSON.stringify(id)}`);
  const values = new Set<string>();
  const options = (Array.isArray(c.options) ? c.options : []).filter((o, i): o is Obj => {
    const ok = isObj(o) && typeof o.value === 'string' && o.value.length >= 1 && o.value.length <= L.selectOptionValue && !values.has(o.value);
    if (!ok) ctx.warnings.push(`${p}.options[${i}] dropped: needs a unique value of 1..${L.selectOptionValue} characters`);
    else values.add(o.value as string);
    return ok;
  });
  if (options.length === 0) return drop('a select menu needs at least one option');
  if (options.length > L.selectOptions) ctx.warnings.push(`${p}: dropped ${options.length - L.selectOptions} options beyond the limit of ${L.selectOptions}`);
  c.options = options.slice(0, L.selectOptions);
  (c.options as Obj[]).forEach((o, i) => {
    fitStr(ctx, o, 'label', `${p}.options[${i}].label`, L.selectOptionLabel, true);
    fitStr(ctx, o, 'description', `${p}.options[${i}].description`, L.selectOptionLabel, false);
  });
  fitStr(ctx, c, 'placeholder', `${p}.placeholder`, L.selectPlaceholder, false);
  customIds.add(id);
  return true;
}

/**
 * Fits one entry of an action row (legacy, or a V2 container's): a button, or the string select the Silence menu
 * is; false = drop it.
 */
export function fitRowEntry(ctx: Ctx, c: unknown, p: string, interactive: boolean, customIds: Set<string>): boolean {
  if (isObj(c) && c.type === 3) return fitSelect(ctx, c, p, interactive, customIds);
  return fitButton(ctx, c, p, interactive, customIds);
}

/**
 * Fits one button (an action row's entry, or a V2 section's accessory) in place; false = drop it. Only buttons are
 * supported (selects etc. are not used by the bridge). `customIds` holds the message's ids so far (unique per message).
 */
export function fitButton(ctx: Ctx, c: unknown, p: string, interactive: boolean, customIds: Set<string>): boolean {
  const drop = (why: string): boolean => (ctx.warnings.push(`${p} dropped: ${why}`), false);
  if (!isObj(c) || c.type !== 2) return drop('only buttons (type 2) are supported here');
  if (c.style === 5) {
    // Link buttons send no interaction; a custom_id or a non-http(s)/over-long URL makes Discord reject the message.
    if (!(isHttpUrl(c.url) && c.url.length <= L.linkUrl)) return drop(`link button url is not an http(s) URL ≤${L.linkUrl}`);
    if (c.custom_id !== undefined) return drop('link buttons cannot have a custom_id');
  } else if (c.style === 1 || c.style === 2 || c.style === 3 || c.style === 4) {
    if (!interactive) return drop('interactive buttons cannot be sent by a plain webhook');
    const id = c.custom_id;
    if (typeof id !== 'string' || id.length < 1 || id.length > L.customId) return drop(`custom_id must be 1..${L.customId} characters`);
    if (c.url !== undefined) return drop('non-link buttons cannot have a url');
    if (customIds.has(id)) return drop(`duplicate custom_id ${JSON.stringify(id)}`);
    customIds.add(id);
  } else return drop(`unsupported button style ${JSON.stringify(c.style)}`);
  if (c.label !== undefined || c.emoji === undefined) fitStr(ctx, c, 'label', `${p}.label`, L.buttonLabel, true);
  return true;
}

function fitComponents(ctx: Ctx, body: Obj, interactive: boolean): void {
  if (body.components === undefined) return;
  const customIds = new Set<string>();
  const rows: Obj[] = [];
  (Array.isArray(body.components) ? body.components : []).forEach((row, i) => {
    const p = `components[${i}]`;
    if (!isObj(row) || row.type !== 1 || !Array.isArray(row.components)) {
      return void ctx.warnings.push(`${p} is not an action row; dropped`);
    }
    let kept = row.components.filter((c, j) => fitRowEntry(ctx, c, `${p}.components[${j}]`, interactive, customIds));
    // A select menu takes its whole row: anything beside it is dropped (Discord refuses the message otherwise).
    const select = kept.find((c) => isObj(c) && c.type === 3);
    if (select && kept.length > 1) {
      ctx.warnings.push(`${p}: dropped ${kept.length - 1} components beside a select menu (a select must be alone in its row)`);
      kept = [select];
    }
    if (kept.length > L.buttonsPerRow) ctx.warnings.push(`${p}: dropped ${kept.length - L.buttonsPerRow} buttons beyond the limit of ${L.buttonsPerRow}`);
    if (kept.length === 0) return void ctx.warnings.push(`${p} has no buttons left; dropped`);
    row.components = kept.slice(0, L.buttonsPerRow);
    rows.push(row);
  });
  if (rows.length > L.actionRows) ctx.warnings.push(`components: dropped ${rows.length - L.actionRows} action rows beyond the limit of ${L.actionRows}`);
  if (!Array.isArray(body.components)) ctx.warnings.push('components is not an array; removed');
  if (rows.length === 0) delete body.components;
  else body.components = rows.slice(0, L.actionRows);
}

/** `{parse: []}`, plus only explicit, valid user/role id allow-lists (never `everyone`, never parse types). */
function safeAllowedMentions(am: unknown): Obj {
  const ids = (v: unknown): string[] =>
    Array.isArray(v) ? [...new Set(v.filter((x): x is string => typeof x === 'string' && SNOWFLAKE.test(x)))].slice(0, L.allowedMentionIds) : [];
  const out: Obj = { parse: [] };
  if (isObj(am) && ids(am.users).length > 0) out.users = ids(am.users);
  if (isObj(am) && ids(am.roles).length > 0) out.roles = ids(am.roles);
  return out;
}

/**
 * What every Discord message fit starts with, whatever its layout: a deep copy of `body` (never mutated) with
 * `allowed_mentions` forced safe, `tts` off and the nonce ≤25 characters (longer ones hashed, staying stable).
 */
export function fitMessageCommon(body: Record<string, unknown>): { out: Obj; ctx: FitCtx } {
  const cloned = cloneJsonValue(body);
  const out: Obj = isObj(cloned) ? cloned : {};
  const ctx: Ctx = { warnings: [], slots: [] };
  const am = safeAllowedMentions(out.allowed_mentions);
  if (out.allowed_mentions !== undefined && JSON.stringify(am) !== JSON.stringify(out.allowed_mentions)) {
    ctx.warnings.push(`allowed_mentions replaced by ${JSON.stringify(am)}`);
  }
  out.allowed_mentions = am;
  if (out.tts !== undefined) keepIf(ctx, out, 'tts', 'message', (v) => v === false, 'text-to-speech is never used for alerts');
  if (typeof out.nonce === 'string' && out.nonce.length > NONCE_MAX) {
    out.nonce = createHash('sha256').update(out.nonce).digest('hex').slice(0, NONCE_MAX);
    ctx.warnings.push(`nonce longer than ${NONCE_MAX}; replaced by a stable hash`);
  }
  return { out, ctx };
}

/**
 * Returns a deep copy of a Discord create/edit-message body that satisfies every B1 limit and B3 rule:
 * `allowed_mentions` forced to `{parse: []}` (keeping only explicit users/roles snowflake allow-lists, ≤100 each);
 * content ≤2000; ≤10 embeds with every field limit, ≤25 fields and ≤6000 total (longest strings shrunk first,
 * visible marker, then trailing embeds dropped); strings trimmed, blank required strings → placeholder; color an
 * integer 0..0xFFFFFF; embed/author `url` http(s) only and ≤2048; `timestamp` ISO-8601 with a year in 0001..9999
 * (else removed); ≤5 rows × ≤5 buttons; link buttons need an http(s) url ≤512 and no custom_id; other buttons need
 * custom_id 1..100 (unique) and are dropped unless `allowInteractive`; labels ≤80; `tts` and the components-v2 flag
 * removed; nonce ≤25 (longer ones are hashed, staying stable).
 * Does not escape content: templates must already have applied `discordEscape`. Never mutates `body`; never throws.
 */
export function fitDiscordMessage(body: Record<string, unknown>, opts: FitDiscordOptions): { body: Record<string, unknown>; warnings: string[] } {
  const { out, ctx } = fitMessageCommon(body);
  const flags = out.flags;
  if (typeof flags === 'number' && (flags & IS_COMPONENTS_V2) !== 0) {
    out.flags = flags & ~IS_COMPONENTS_V2;
    ctx.warnings.push('flags: IS_COMPONENTS_V2 cleared (it forbids content and embeds)');
  }
  fitStr(ctx, out, 'content', 'content', L.content, false);
  if (out.embeds !== undefined) {
    const all = Array.isArray(out.embeds) ? out.embeds : [];
    const embeds = all.filter(isObj);
    if (embeds.length !== all.length || !Array.isArray(out.embeds)) ctx.warnings.push('embeds: non-object entries dropped');
    if (embeds.length > L.embeds) ctx.warnings.push(`embeds: dropped ${embeds.length - L.embeds} beyond the limit of ${L.embeds}`);
    out.embeds = embeds.slice(0, L.embeds);
    (out.embeds as Obj[]).forEach((e, i) => fitEmbed(ctx, e, `embeds[${i}]`));
    const shrunk = shrinkLongestFirst(ctx.slots, L.embedTotal, 'embed total', 1);
    ctx.warnings.push(...shrunk.warnings);
    const list = out.embeds as Obj[];
    for (let total = shrunk.total; total > L.embedTotal && list.length > 1; ) {
      const gone = list.pop() as Obj;
      total -= ctx.slots.filter((s) => s.embed === gone).reduce((a, s) => a + String(s.holder[s.key]).length, 0);
      ctx.warnings.push(`embeds[${list.length}] dropped to fit the ${L.embedTotal}-character embed total`);
    }
  }
  fitComponents(ctx, out, opts.allowInteractive);
  const sendable = ['content', 'components', 'attachments', 'files', 'sticker_ids', 'poll'].some((k) => out[k] !== undefined);
  if (!sendable && !(Array.isArray(out.embeds) && out.embeds.length > 0)) {
    out.content = DISCORD_PLACEHOLDER; // an empty message is a 400 (50006), and dropping the alert silently is worse
    ctx.warnings.push(`message had nothing to send; content set to "${DISCORD_PLACEHOLDER}"`);
  }
  return { body: out, warnings: ctx.warnings };
}
