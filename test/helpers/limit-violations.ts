/**
 * Independent validators of what the fitters produce, for unit and property tests (production code fits; it never
 * needs to re-check). They share no code with the fitters on purpose, so a fitter bug cannot hide itself: only the
 * platform limits (src/templates/limits.ts) and the http(s) URL test are common. The fakes check every request with
 * their own, stricter validators (fake-slack-validate.ts, fake-discord-validate.ts).
 */
import type { FitDiscordOptions } from '../../src/templates/fit-discord';
import { isHttpUrl } from '../../src/templates/escape';
import { DISCORD_LIMITS, SLACK_LIMITS } from '../../src/templates/limits';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const SNOWFLAKE = /^\d{17,20}$/;
/** Discord's nonce limit (characters). */
const NONCE_MAX = 25;

/**
 * Independently checks a chat.postMessage body against every rule `fitSlackMessage` enforces (A1 limits,
 * verbatim mrkdwn, no link_names, unfurls off, http(s) button URLs, unique ids, ≤11000 total block text, top-level
 * text 1..4000). Returns one human string per violation; `[]` means postable. Shares no code with the fitter on
 * purpose, so a fitter bug cannot hide itself. Does not judge escaping (it cannot know which text came from alerts).
 */
export function slackLimitViolations(body: unknown): string[] {
  const L = SLACK_LIMITS;
  const out: string[] = [];
  if (!isObj(body)) return ['body is not an object'];
  let total = 0;
  const str = (v: unknown, p: string, max: number, min = 0): void => {
    if (typeof v !== 'string') out.push(`${p} is not a string`);
    else if (v.length > max || v.trim().length < min) out.push(`${p} length ${v.length} is outside ${min}..${max}`);
  };
  const text = (v: unknown, p: string, max: number, plainOnly = false): void => {
    if (!isObj(v)) return void out.push(`${p} is not a text object`);
    if (v.type !== 'plain_text' && (plainOnly || v.type !== 'mrkdwn')) out.push(`${p}.type ${String(v.type)} not allowed`);
    if (v.type === 'mrkdwn' && v.verbatim !== true) out.push(`${p}.verbatim is not true`);
    str(v.text, `${p}.text`, max, 1);
    if (typeof v.text === 'string') total += v.text.length;
  };
  const id = (v: unknown, p: string, seen: Set<string>): void => {
    if (v === undefined) return;
    str(v, p, L.actionId, 1);
    if (typeof v === 'string' && seen.has(v)) out.push(`${p} ${JSON.stringify(v)} is not unique`);
    if (typeof v === 'string') seen.add(v);
  };
  const button = (el: Obj, p: string, ids: Set<string>): void => {
    text(el.text, `${p}.text`, L.buttonText, true);
    if (el.url !== undefined && !(isHttpUrl(el.url) && el.url.length <= L.buttonUrl)) out.push(`${p}.url is not an http(s) URL ≤${L.buttonUrl}`);
    if (el.value !== undefined) str(el.value, `${p}.value`, L.buttonValue);
    id(el.action_id, `${p}.action_id`, ids);
  };
  const elements = (b: Obj, p: string, max: number): Obj[] => {
    const els = Array.isArray(b.elements) ? b.elements : [];
    if (els.length < 1 || els.length > max) out.push(`${p}.elements count ${els.length} is outside 1..${max}`);
    if (!els.every(isObj)) out.push(`${p}.elements has a non-object entry`);
    return els.filter(isObj);
  };
  const blocks = (list: unknown, prefix: string): void => {
    if (!Array.isArray(list)) return void out.push(`${prefix} is not an array`);
    if (list.length > L.blocks) out.push(`${prefix} has ${list.length} blocks (max ${L.blocks})`);
    const blockIds = new Set<string>();
    list.forEach((b, i) => {
      const p = `${prefix}[${i}]`;
      if (!isObj(b)) return void out.push(`${p} is not an object`);
      id(b.block_id, `${p}.block_id`, blockIds);
      const ids = new Set<string>();
      if (b.type === 'header') text(b.text, `${p}.text`, L.headerText, true);
      if (b.type === 'section') {
        if (b.text === undefined && b.fields === undefined) out.push(`${p} has neither text nor fields`);
        if (b.text !== undefined) text(b.text, `${p}.text`, L.sectionText);
        if (b.fields !== undefined) {
          const f = Array.isArray(b.fields) ? b.fields : [];
          if (f.length < 1 || f.length > L.sectionFields) out.push(`${p}.fields count ${f.length} is outside 1..${L.sectionFields}`);
          f.forEach((x, j) => text(x, `${p}.fields[${j}]`, L.sectionFieldText));
        }
        if (isObj(b.accessory) && b.accessory.type === 'button') button(b.accessory, `${p}.accessory`, ids);
      }
      if (b.type === 'context') {
        elements(b, p, L.contextElements).forEach((el, j) => {
          if (el.type === 'image') str(el.alt_text, `${p}.elements[${j}].alt_text`, L.imageAltText, 1);
          else text(el, `${p}.elements[${j}]`, L.sectionText);
        });
      }
      if (b.type === 'actions') {
        elements(b, p, L.actionsElements).forEach((el, j) =>
          el.type === 'button' ? button(el, `${p}.elements[${j}]`, ids) : id(el.action_id, `${p}.elements[${j}].action_id`, ids));
      }
      if (b.type === 'image') str(b.alt_text, `${p}.alt_text`, L.imageAltText, 1);
      if (b.type === 'markdown') {
        str(b.text, `${p}.text`, L.totalBlockText, 1);
        if (typeof b.text === 'string') total += b.text.length;
      }
    });
  };
  if (body.blocks !== undefined) blocks(body.blocks, 'blocks');
  if (body.attachments !== undefined) {
    const atts = Array.isArray(body.attachments) ? body.attachments : [];
    if (!Array.isArray(body.attachments) || atts.length > L.attachments) out.push(`attachments must be an array of ≤${L.attachments}`);
    atts.forEach((a, i) => { if (isObj(a) && a.blocks !== undefined) blocks(a.blocks, `attachments[${i}].blocks`); });
  }
  if (total > L.totalBlockText) out.push(`total block text ${total} exceeds ${L.totalBlockText}`);
  str(body.text, 'text', L.topLevelText, 1);
  if ('link_names' in body) out.push('link_names is present');
  if (body.unfurl_links !== false) out.push('unfurl_links is not false');
  if (body.unfurl_media !== false) out.push('unfurl_media is not false');
  return out;
}

/**
 * Independently checks a Discord message body against every rule `fitDiscordMessage` enforces: allowed_mentions
 * `{parse: []}` (+ optional snowflake users/roles ≤100), content ≤2000, ≤10 embeds, per-field limits, non-blank
 * required strings, Σ ≤6000, color range, http(s) URLs (embed/author ≤2048), timestamp years 0001..9999, ≤5 rows ×
 * 1..5 buttons, label ≤80, link url ≤512 without custom_id, custom_id 1..100 unique, and (with
 * `allowInteractive: false`) no interactive buttons. Lengths are UTF-16 units, the stricter bound over Discord's code
 * points. One human string per violation; `[]` means postable.
 */
export function discordLimitViolations(body: unknown, opts: Partial<FitDiscordOptions> = {}): string[] {
  const L = DISCORD_LIMITS;
  const out: string[] = [];
  if (!isObj(body)) return ['body is not an object'];
  let total = 0;
  const str = (v: unknown, p: string, max: number, required: boolean, counts = false): void => {
    if (v === undefined && !required) return;
    if (typeof v !== 'string') return void out.push(`${p} is not a string`);
    if (v.length > max || v.trim().length < 1) out.push(`${p} length ${v.length} is outside 1..${max}`);
    if (counts) total += v.length;
  };
  const am = body.allowed_mentions;
  if (!isObj(am) || !Array.isArray(am.parse) || am.parse.length !== 0) out.push('allowed_mentions.parse is not []');
  for (const k of ['users', 'roles']) {
    const ids = isObj(am) ? am[k] : undefined;
    if (ids !== undefined && !(Array.isArray(ids) && ids.length <= L.allowedMentionIds && ids.every((x) => typeof x === 'string' && SNOWFLAKE.test(x)))) {
      out.push(`allowed_mentions.${k} must be ≤${L.allowedMentionIds} snowflake strings`);
    }
  }
  str(body.content, 'content', L.content, false);
  const embeds = body.embeds === undefined ? [] : Array.isArray(body.embeds) ? body.embeds : null;
  if (embeds === null || embeds.length > L.embeds) out.push(`embeds must be an array of ≤${L.embeds}`);
  (embeds ?? []).forEach((e, i) => {
    const p = `embeds[${i}]`;
    if (!isObj(e)) return void out.push(`${p} is not an object`);
    str(e.title, `${p}.title`, L.embedTitle, false, true);
    str(e.description, `${p}.description`, L.embedDescription, false, true);
    if (e.url !== undefined && !(isHttpUrl(e.url) && e.url.length <= 2048)) out.push(`${p}.url is not an http(s) URL ≤2048`);
    if (e.timestamp !== undefined) {
      const ms = typeof e.timestamp === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(e.timestamp) ? Date.parse(e.timestamp) : NaN;
      // 0001-01-01T00:00:00Z ≤ ms < 10000-01-01T00:00:00Z (NaN fails both comparisons)
      if (!(ms >= -62135596800000 && ms < 253402300800000)) out.push(`${p}.timestamp is not an ISO8601 timestamp in years 0001..9999`);
    }
    if (e.color !== undefined && !(Number.isInteger(e.color) && (e.color as number) >= 0 && (e.color as number) <= L.maxColor)) out.push(`${p}.color out of range`);
    const fields = e.fields === undefined ? [] : Array.isArray(e.fields) ? e.fields : null;
    if (fields === null || fields.length > L.embedFields) out.push(`${p}.fields must be an array of ≤${L.embedFields}`);
    (fields ?? []).forEach((f, j) => {
      if (!isObj(f)) return void out.push(`${p}.fields[${j}] is not an object`);
      str(f.name, `${p}.fields[${j}].name`, L.fieldName, true, true);
      str(f.value, `${p}.fields[${j}].value`, L.fieldValue, true, true);
    });
    if (e.footer !== undefined) str(isObj(e.footer) ? e.footer.text : undefined, `${p}.footer.text`, L.footerText, true, true);
    if (e.author !== undefined) {
      str(isObj(e.author) ? e.author.name : undefined, `${p}.author.name`, L.authorName, true, true);
      if (isObj(e.author) && e.author.url !== undefined && !(isHttpUrl(e.author.url) && e.author.url.length <= 2048)) out.push(`${p}.author.url is not an http(s) URL ≤2048`);
    }
  });
  if (total > L.embedTotal) out.push(`embed total ${total} exceeds ${L.embedTotal}`);
  const rows = body.components === undefined ? [] : Array.isArray(body.components) ? body.components : null;
  if (rows === null || rows.length > L.actionRows) out.push(`components must be an array of ≤${L.actionRows} action rows`);
  const customIds = new Set<string>();
  (rows ?? []).forEach((row, i) => {
    const p = `components[${i}]`;
    const items = isObj(row) && row.type === 1 && Array.isArray(row.components) ? row.components : null;
    if (items === null || items.length < 1 || items.length > L.buttonsPerRow) return void out.push(`${p} must be an action row of 1..${L.buttonsPerRow}`);
    items.forEach((c, j) => {
      const q = `${p}.components[${j}]`;
      if (isObj(c) && c.type === 3) {
        // A string select (the Silence menu): alone in its row, never on a plain webhook, 1..25 options.
        if (items.length !== 1) out.push(`${q} is a select menu sharing its row`);
        if (opts.allowInteractive === false) out.push(`${q} is a select menu but interactive components are not allowed`);
        if (!Array.isArray(c.options) || c.options.length < 1 || c.options.length > 25) out.push(`${q}.options must be 1..25`);
        return;
      }
      if (!isObj(c) || c.type !== 2) return void out.push(`${q} is not a button`);
      if (c.label !== undefined || c.emoji === undefined) str(c.label, `${q}.label`, L.buttonLabel, true);
      if (c.style === 5) {
        if (!(isHttpUrl(c.url) && c.url.length <= L.linkUrl)) out.push(`${q}.url is not an http(s) URL ≤${L.linkUrl}`);
        if (c.custom_id !== undefined) out.push(`${q} is a link button with a custom_id`);
      } else {
        if (opts.allowInteractive === false) out.push(`${q} is interactive but interactive buttons are not allowed`);
        if (typeof c.custom_id !== 'string' || c.custom_id.length < 1 || c.custom_id.length > L.customId) out.push(`${q}.custom_id must be 1..${L.customId}`);
        else if (customIds.has(c.custom_id)) out.push(`${q}.custom_id is not unique`);
        else customIds.add(c.custom_id);
        if (c.url !== undefined) out.push(`${q} is not a link button but has a url`);
      }
    });
  });
  if (typeof body.nonce === 'string' && body.nonce.length > NONCE_MAX) out.push(`nonce longer than ${NONCE_MAX}`);
  const sendable = ['content', 'components', 'attachments', 'files', 'sticker_ids', 'poll'].some((k) => body[k] !== undefined);
  if (!sendable && (embeds ?? []).length === 0) out.push('message has nothing to send');
  return out;
}
