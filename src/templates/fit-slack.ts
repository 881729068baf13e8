/**
 * Makes whatever a user template produced postable to Slack chat.postMessage without tripping a limit or opening
 * a ping/link vector (reference A1–A3, PART C.2). Tests check its output with an independent validator
 * (test/helpers/limit-violations.ts).
 */
import { cloneJsonValue, isHttpUrl } from './escape';
import { SLACK_LIMITS as L } from './limits';
import { shrinkLongestFirst, truncateText, type TextSlot } from './truncate';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const asObj = (a: unknown[]): Obj => a as unknown as Obj; // lets array slots share the holder/key code path

/** Substituted for empty required text (Slack text objects need ≥1 character). */
export const SLACK_PLACEHOLDER = '—';
/** Top-level `text` when neither the template nor any header/section provides one. */
export const SLACK_FALLBACK_TEXT = 'Alert';

interface Ctx { warnings: string[]; slots: Array<TextSlot & { block: Obj }>; block: Obj }

/** Normalises holder[key] into a valid, non-empty, ≤max text object; mrkdwn gets verbatim:true (no auto-@here). */
function fitText(ctx: Ctx, holder: Obj, key: string, path: string, max: number, plainOnly: boolean): void {
  const v = holder[key];
  let t: Obj;
  if (isObj(v)) t = v;
  else if (typeof v === 'string' || typeof v === 'number') {
    // plain_text: Slack runs no `<…>` control sequences or auto-linking in it, the safe reading of a bare string.
    ctx.warnings.push(`${path} was a bare ${typeof v}; wrapped in a plain_text object`);
    t = { type: 'plain_text', text: String(v) };
  } else t = { type: 'plain_text', text: '' };
  if ((t.type !== 'plain_text' && t.type !== 'mrkdwn') || (plainOnly && t.type === 'mrkdwn')) {
    ctx.warnings.push(`${path}.type ${JSON.stringify(t.type)} not allowed here; set to plain_text`);
    t.type = 'plain_text';
  }
  if (t.type === 'mrkdwn') {
    t.verbatim = true;
    delete t.emoji; // plain_text-only property; unknown props make Slack answer invalid_blocks
  } else delete t.verbatim;
  let text = typeof t.text === 'string' ? t.text : typeof t.text === 'number' ? String(t.text) : '';
  if (text.trim() === '') {
    ctx.warnings.push(`${path}.text was empty; replaced with "${SLACK_PLACEHOLDER}"`);
    text = SLACK_PLACEHOLDER;
  }
  const r = truncateText(text, max, { escapeStyle: 'slack' });
  if (r.truncated) ctx.warnings.push(`${path}.text truncated from ${text.length} to ${r.text.length} characters`);
  t.text = r.text;
  holder[key] = t;
  ctx.slots.push({ holder: t, key: 'text', path: `${path}.text`, escapeStyle: 'slack', block: ctx.block });
}

/** Caps an optional plain string property (value, alt_text, …); non-strings are removed. */
function fitString(ctx: Ctx, holder: Obj, key: string, path: string, max: number, marker?: string): void {
  const v = holder[key];
  if (v === undefined) return;
  if (typeof v !== 'string') return void (delete holder[key], ctx.warnings.push(`${path}.${key} was not a string; removed`));
  const r = truncateText(v, max, { marker, escapeStyle: 'slack' });
  if (r.truncated) ctx.warnings.push(`${path}.${key} truncated from ${v.length} to ${r.text.length} characters`);
  holder[key] = r.text;
}

/** Makes holder[key] (block_id / action_id) ≤255 and unique within `seen`; ids are machine data, so no marker. */
function fitId(ctx: Ctx, holder: Obj, key: string, path: string, seen: Set<string>): void {
  const v = holder[key];
  if (v === undefined) return;
  if (typeof v !== 'string' || v === '') { // optional: Slack generates one
    return void (delete holder[key], ctx.warnings.push(`${path}.${key} was not a non-empty string; removed`));
  }
  let id = v.slice(0, L.actionId);
  for (let n = 2; seen.has(id); n++) id = `${v.slice(0, L.actionId - String(n).length - 1)}_${n}`;
  if (id !== v) ctx.warnings.push(`${path}.${key} changed to stay ≤${L.actionId} characters and unique`);
  seen.add(id);
  holder[key] = id;
}

/** Fits one button in place; false = drop it (only http(s) URLs ≤3000, never javascript:/data:). */
function fitButton(ctx: Ctx, el: Obj, path: string): boolean {
  if (el.url !== undefined && !(isHttpUrl(el.url) && el.url.length <= L.buttonUrl)) {
    ctx.warnings.push(`${path} dropped: url is not an http(s) URL of at most ${L.buttonUrl} characters`);
    return false;
  }
  fitText(ctx, el, 'text', `${path}.text`, L.buttonText, true);
  fitString(ctx, el, 'value', path, L.buttonValue, ''); // machine data: cut without a marker
  fitString(ctx, el, 'accessibility_label', path, L.buttonAccessibilityLabel);
  if (el.style !== undefined && el.style !== 'primary' && el.style !== 'danger') {
    ctx.warnings.push(`${path}.style ${JSON.stringify(el.style)} is invalid; removed`);
    delete el.style;
  }
  return true;
}

/**
 * True when an image block or element has something to show: an http(s) `image_url` or a `slack_file`. The
 * sanitiser removes an `image_url` on a foreign host; Slack refuses the whole message for an image without one.
 */
const hasImageSource = (el: Obj): boolean => isHttpUrl(el.image_url) || isObj(el.slack_file);

/** Fits an element list (context/actions) in place: drops invalid entries, then the surplus beyond `max`. */
function fitElements(ctx: Ctx, b: Obj, path: string, max: number, fit: (el: Obj, p: string) => boolean): unknown[] {
  const raw = Array.isArray(b.elements) ? b.elements : [];
  const kept = raw.filter((el, i) => {
    const ok = isObj(el) && fit(el, `${path}.elements[${i}]`);
    if (!isObj(el)) ctx.warnings.push(`${path}.elements[${i}] is not an object; dropped`);
    return ok;
  });
  if (kept.length > max) ctx.warnings.push(`${path}.elements: dropped ${kept.length - max} beyond the limit of ${max}`);
  b.elements = kept.slice(0, max);
  return b.elements as unknown[];
}

/** Fits one block in place; false = drop it. */
function fitBlock(ctx: Ctx, b: Obj, path: string, blockIds: Set<string>): boolean {
  ctx.block = b;
  const actionIds = new Set<string>();
  const idOf = (el: Obj, p: string): void => fitId(ctx, el, 'action_id', p, actionIds);
  switch (b.type) {
    case 'header':
      fitText(ctx, b, 'text', `${path}.text`, L.headerText, true);
      break;
    case 'section': {
      if (b.fields !== undefined) {
        const all = Array.isArray(b.fields) ? b.fields : [];
        if (!Array.isArray(b.fields)) ctx.warnings.push(`${path}.fields is not an array; removed`);
        else if (all.length > L.sectionFields) ctx.warnings.push(`${path}.fields: ${all.length - L.sectionFields + 1} beyond the limit of ${L.sectionFields} moved to "+N more"`);
        // Keep the reader informed: the last slot says how many fields did not fit.
        const fields =
          all.length > L.sectionFields
            ? [...all.slice(0, L.sectionFields - 1), { type: 'mrkdwn', text: `+${all.length - L.sectionFields + 1} more`, verbatim: true }]
            : all;
        fields.forEach((_, i) => fitText(ctx, asObj(fields), String(i), `${path}.fields[${i}]`, L.sectionFieldText, false));
        if (fields.length > 0) b.fields = fields;
        else delete b.fields;
      }
      // A section needs text or fields; text is fitted when present or when it is the only thing left.
      if (b.text !== undefined || b.fields === undefined) fitText(ctx, b, 'text', `${path}.text`, L.sectionText, false);
      const acc = b.accessory;
      if (isObj(acc) && acc.type === 'button' && !fitButton(ctx, acc, `${path}.accessory`)) delete b.accessory;
      else if (isObj(acc) && acc.type === 'image' && !hasImageSource(acc)) {
        ctx.warnings.push(`${path}.accessory (image) dropped: no http(s) image_url`);
        delete b.accessory;
      } else if (isObj(acc)) {
        idOf(acc, `${path}.accessory`);
        fitString(ctx, acc, 'alt_text', `${path}.accessory`, L.imageAltText);
      }
      break;
    }
    case 'context':
      if (fitElements(ctx, b, path, L.contextElements, (el, p) => {
        if (el.type === 'image' && !hasImageSource(el)) return (ctx.warnings.push(`${p} (image) dropped: no http(s) image_url`), false);
        if (el.type === 'image') fitString(ctx, el, 'alt_text', p, L.imageAltText);
        else if (el.type === 'plain_text' || el.type === 'mrkdwn') fitText(ctx, { t: el }, 't', p, L.sectionText, false);
        else ctx.warnings.push(`${p} has unsupported type ${JSON.stringify(el.type)}; dropped`);
        return el.type === 'image' || el.type === 'plain_text' || el.type === 'mrkdwn';
      }).length === 0) return (ctx.warnings.push(`${path} (context) has no elements left; removed`), false);
      break;
    case 'actions':
      if (fitElements(ctx, b, path, L.actionsElements, (el, p) => {
        if (el.type === 'button' && !fitButton(ctx, el, p)) return false;
        idOf(el, p);
        return true;
      }).length === 0) return (ctx.warnings.push(`${path} (actions) has no elements left; removed`), false);
      break;
    case 'image':
      if (!hasImageSource(b)) return (ctx.warnings.push(`${path} (image) dropped: no http(s) image_url`), false);
      fitString(ctx, b, 'alt_text', path, L.imageAltText);
      if (b.title !== undefined) fitText(ctx, b, 'title', `${path}.title`, L.imageAltText, true);
      break;
    case 'markdown': // a plain string, but it counts toward the cumulative budget like any other block text
      if (typeof b.text !== 'string' || b.text.trim() === '') {
        ctx.warnings.push(`${path}.text was empty; replaced with "${SLACK_PLACEHOLDER}"`);
        b.text = SLACK_PLACEHOLDER;
      }
      fitString(ctx, b, 'text', path, L.totalBlockText);
      ctx.slots.push({ holder: b, key: 'text', path: `${path}.text`, escapeStyle: 'slack', block: b });
      break;
    default:
      if (typeof b.type !== 'string') return (ctx.warnings.push(`${path} has no type; dropped`), false);
  }
  fitId(ctx, b, 'block_id', path, blockIds);
  return true;
}

/** Fits a block list; over 50, content blocks are dropped from the end first so the actions (buttons) survive. */
function fitBlocks(ctx: Ctx, input: unknown, prefix: string): Obj[] {
  const blockIds = new Set<string>();
  const list = (Array.isArray(input) ? input : []).filter((b, i): b is Obj => {
    if (isObj(b)) return fitBlock(ctx, b, `${prefix}[${i}]`, blockIds);
    ctx.warnings.push(`${prefix}[${i}] is not an object; dropped`);
    return false;
  });
  const before = list.length;
  for (let i = list.length - 1; list.length > L.blocks && i >= 0; i--) {
    if (list[i]?.type !== 'actions') list.splice(i, 1);
  }
  list.splice(L.blocks); // only reached when more than 50 actions blocks remain
  if (before > list.length) {
    ctx.warnings.push(`${prefix}: dropped ${before - list.length} blocks beyond the limit of ${L.blocks} (content from the end; actions kept)`);
  }
  ctx.slots = ctx.slots.filter((s) => !s.path.startsWith(`${prefix}[`) || list.includes(s.block));
  return list;
}

/**
 * Returns a deep copy of chat.postMessage/chat.update arguments that satisfies every Slack limit (A1) and the
 * injection rules (A2/A3): text objects non-empty, within limits (visible `… (truncated)` marker), mrkdwn
 * `verbatim: true`; surplus fields/elements/blocks dropped (buttons kept longest); bad-URL buttons dropped; ids
 * ≤255 and unique; total block text ≤11000 (longest texts shrunk first); non-empty top-level `text` ≤4000;
 * `link_names` deleted; `unfurl_links`/`unfurl_media` false; `parse: 'none'` (chat.update would default to
 * `client` parsing). Does not escape content: templates must already have applied `slackEscape` to alert data.
 * Never mutates `args`; never throws. Every change is described in `warnings`.
 */
export function fitSlackMessage(args: Record<string, unknown>): { body: Record<string, unknown>; warnings: string[] } {
  const cloned = cloneJsonValue(args);
  const body: Obj = isObj(cloned) ? cloned : {};
  const ctx: Ctx = { warnings: [], slots: [], block: body };
  if (body.link_names !== undefined) ctx.warnings.push('link_names removed (it turns @here/@channel text into pings)');
  delete body.link_names;
  if (body.parse !== undefined && body.parse !== 'none') ctx.warnings.push(`parse ${JSON.stringify(body.parse)} replaced by "none"`);
  Object.assign(body, { parse: 'none', unfurl_links: false, unfurl_media: false });
  if (body.blocks !== undefined) body.blocks = fitBlocks(ctx, body.blocks, 'blocks');
  if (body.attachments !== undefined) {
    const all = Array.isArray(body.attachments) ? body.attachments : [];
    const atts = all.filter(isObj).slice(0, L.attachments);
    if (atts.length !== all.length || !Array.isArray(body.attachments)) {
      ctx.warnings.push(`attachments: kept ${atts.length} (objects only, at most ${L.attachments})`);
    }
    atts.forEach((a, i) => { if (a.blocks !== undefined) a.blocks = fitBlocks(ctx, a.blocks, `attachments[${i}].blocks`); });
    body.attachments = atts;
  }
  const budget = shrinkLongestFirst(ctx.slots, L.totalBlockText, 'block text budget', 20);
  ctx.warnings.push(...budget.warnings);
  const blocks = Array.isArray(body.blocks) ? (body.blocks as Obj[]) : [];
  for (let total = budget.total, i = blocks.length - 1; total > L.totalBlockText && i > 0; i--) {
    const b = blocks[i]!;
    if (b.type === 'actions') continue;
    total -= ctx.slots.filter((s) => s.block === b).reduce((a, s) => a + String(s.holder[s.key]).length, 0);
    blocks.splice(i, 1);
    ctx.warnings.push(`blocks[${i}] dropped to fit the ${L.totalBlockText}-character block text budget`);
  }
  // Top-level `text` is the notification/screen-reader fallback: required non-empty, ≤4000; derived if missing.
  let text = typeof body.text === 'string' ? body.text : typeof body.text === 'number' ? String(body.text) : '';
  if (text.trim() === '') {
    const src = blocks.map((b) => b.text).find((t): t is Obj => isObj(t) && typeof t.text === 'string');
    // It is mrkdwn: block mrkdwn is already escaped; plain_text is escaped idempotently (existing entities kept,
    // they only ever decode to literal characters) so an escaped header is not shown as `&lt;`.
    const idem = (t: string): string => t.replace(/&(?!(?:amp|lt|gt);)/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    text = src ? (src.type === 'mrkdwn' ? String(src.text) : idem(String(src.text))) : SLACK_FALLBACK_TEXT;
    ctx.warnings.push('text (fallback) was missing; derived from the blocks');
  }
  const r = truncateText(text, L.topLevelText, { escapeStyle: 'slack' });
  if (r.truncated) ctx.warnings.push(`text truncated from ${text.length} to ${r.text.length} characters`);
  body.text = r.text;
  return { body, warnings: ctx.warnings };
}
