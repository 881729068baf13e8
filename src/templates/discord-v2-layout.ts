/**
 * The Components V2 layout of a Discord alert. Templates keep rendering the embed-shaped message (content, embeds,
 * button rows): this converts that message — rendered, sanitised and fitted — into a V2 one, so every template,
 * the triage part and the sanitiser's guarantees carry over unchanged, and the text moved into text displays is
 * exactly the text that was safe in the embed.
 *
 * Per embed, a container with the embed's colour as its accent bar: the author and title (a `###` heading) in a
 * section whose accessory is the alert's link button; the description; a separator; the fields as text displays
 * (a run of inline fields as `**name:** value` lines, other fields as `**name**` paragraphs); image and thumbnail
 * in a media gallery; the footer and timestamp as subtext. `content` (the route's mentions) becomes a text display
 * above the container, never shortened, and the remaining button rows go inside the container (one embed) or after
 * the containers.
 */
import { DISCORD_LIMITS as L, DISCORD_V2_LIMITS as V } from './limits';
import { IS_COMPONENTS_V2, type FitDiscordOptions } from './fit-discord';
import { fitDiscordV2Message, V2_TYPE } from './fit-discord-v2';
import { isHttpUrl } from './escape';
import { shrinkLongestFirst, type TextSlot } from './truncate';

/** How a Discord destination lays alerts out (config `layout`). */
export type DiscordLayout = 'embed' | 'v2';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);

/** A text display's content in parts: decoration written here, or alert text (a slot the budget may shorten). */
type Part = string | TextSlot;
/** Label of the accessory made from an embed `url` when no link button of the template points there. */
export const OPEN_LABEL = 'Open';
const SEPARATOR = { type: V2_TYPE.separator, divider: true, spacing: 1 };

/** Builds the tree with text displays whose content is filled in once the budget has been applied. */
class Draft {
  private readonly texts: Array<{ node: Obj; parts: Part[] }> = [];

  text(parts: Part[]): Obj {
    const node: Obj = { type: V2_TYPE.textDisplay, content: '' };
    this.texts.push({ node, parts });
    return node;
  }

  /**
   * Shortens alert text, longest first, until every text display fits the message's 4,000 together with the
   * decoration around it, then writes each display's content. Returns the warnings (embed paths, as the template
   * author knows them).
   */
  finish(): string[] {
    const slots = this.texts.flatMap((t) => t.parts.filter((p): p is TextSlot => typeof p !== 'string'));
    const decoration = this.texts.reduce((n, t) => n + t.parts.reduce((m, p) => m + (typeof p === 'string' ? p.length : 0), 0), 0);
    const budget = Math.max(slots.length, V.textDisplayTotal - decoration);
    const { warnings } = shrinkLongestFirst(slots, budget, 'text display total', 1);
    for (const t of this.texts) t.node.content = t.parts.map((p) => (typeof p === 'string' ? p : String(p.holder[p.key]))).join('');
    // The budget is what the decoration leaves of the 4,000: name the limit the reader knows.
    return warnings.map((w) => w.replace(`the ${budget}-character text display total`, `the ${V.textDisplayTotal}-character text display total`));
  }
}

const slot = (value: unknown, path: string): TextSlot => ({ holder: { value: String(value) }, key: 'value', path, escapeStyle: 'discord' });
/** Headings and subtext hold one line: later lines would be plain text (or, starting with `#`, a heading of their own). */
const oneLine = (value: unknown, path: string): TextSlot => slot(String(value).replace(/\s*\n\s*/g, ' '), path);

/** Removes and returns the first link button (with `url`, if given) of `rows`. */
function takeLinkButton(rows: Obj[], url?: unknown): Obj | undefined {
  for (const row of rows) {
    const buttons = row.components as Obj[];
    const i = buttons.findIndex((b) => b.style === 5 && (url === undefined || b.url === url));
    if (i >= 0) return buttons.splice(i, 1)[0];
  }
  return undefined;
}

/** The fields as text displays: each run of inline fields is one display of lines, each run of others one of paragraphs. */
function fieldTexts(draft: Draft, fields: Obj[], p: string): Obj[] {
  const runs: Array<{ inline: boolean; parts: Part[] }> = [];
  fields.forEach((f, i) => {
    const inline = f.inline === true;
    const name = slot(f.name, `${p}.fields[${i}].name`);
    const value = slot(f.value, `${p}.fields[${i}].value`);
    const piece: Part[] = inline ? ['**', name, String(f.name).endsWith(':') ? '** ' : ':** ', value] : ['**', name, '**\n', value];
    const run = runs[runs.length - 1];
    if (run && run.inline === inline) run.parts.push(inline ? '\n' : '\n\n', ...piece);
    else runs.push({ inline, parts: piece });
  });
  return runs.map((run) => draft.text(run.parts));
}

/** `<t:…:f>`: Discord shows the embed's timestamp in each reader's own time zone, as the embed did. */
function timestampTag(timestamp: unknown): string | undefined {
  const ms = typeof timestamp === 'string' ? Date.parse(timestamp) : NaN;
  return Number.isFinite(ms) ? `<t:${Math.floor(ms / 1000)}:f>` : undefined;
}

/** One embed as a container; `accessory` (the link button, or the thumbnail) sits beside its title. */
function container(draft: Draft, e: Obj, p: string, accessory: Obj | undefined): Obj {
  const children: Obj[] = [];
  const heading: Obj[] = [];
  if (isObj(e.author)) heading.push(draft.text(['-# ', oneLine(e.author.name, `${p}.author.name`)]));
  if (e.title !== undefined) heading.push(draft.text(['### ', oneLine(e.title, `${p}.title`)]));
  if (heading.length > 0 && accessory) children.push({ type: V2_TYPE.section, components: heading, accessory });
  else children.push(...heading);
  if (e.description !== undefined) children.push(draft.text([slot(e.description, `${p}.description`)]));
  const fields = list(e.fields);
  if (fields.length > 0) {
    if (children.length > 0) children.push({ ...SEPARATOR });
    children.push(...fieldTexts(draft, fields, p));
  }
  const media = (['image', 'thumbnail'] as const).filter((k) => isObj(e[k]) && !(k === 'thumbnail' && accessory?.type === V2_TYPE.thumbnail));
  if (media.length > 0) children.push({ type: V2_TYPE.mediaGallery, items: media.map((k) => ({ media: { url: (e[k] as Obj).url } })) });
  const when = timestampTag(e.timestamp);
  const footer = isObj(e.footer) ? oneLine(e.footer.text, `${p}.footer.text`) : undefined;
  if (footer || when) children.push(draft.text(['-# ', ...(footer ? [footer] : []), ...(footer && when ? [' · '] : []), ...(when ? [when] : [])]));
  return { type: V2_TYPE.container, ...(typeof e.color === 'number' ? { accent_color: e.color } : {}), components: children };
}

/**
 * Converts a fitted embed-layout message (fitDiscordMessage's output) into a fitted Components V2 message: the
 * flag set, no `content` or `embeds`, and what they showed in a container per embed (see the module comment).
 * `allowed_mentions` and `nonce` are kept as they are: the caller sets them. The alert's link button (the one
 * opening the embed's `url`, else the first link button) moves beside the first title; an embed `url` no button
 * opens becomes an "Open" link button there when it fits a button. Alert text (everything but `content`) is
 * shortened longest first so all text displays together stay within 4,000 characters, with the same marker and
 * warnings as the embed fitter.
 */
export function layOutDiscordV2(body: Record<string, unknown>, opts: FitDiscordOptions): { body: Record<string, unknown>; warnings: string[] } {
  const { content, embeds, components, flags, ...rest } = body;
  const draft = new Draft();
  const warnings: string[] = [];
  const rows = list(components).map((row) => ({ ...row, components: list(row.components).map((b) => ({ ...b })) }));
  const top: Obj[] = [];
  // Kept whole, not a slot the 4,000 budget may shorten: it holds the route's mentions (already fitted to 2,000 as
  // in the embed layout), and who is paged must not depend on how long the alert's text is.
  if (typeof content === 'string' && content !== '') top.push(draft.text([content]));
  const containers = list(embeds).map((e, i) => {
    let accessory: Obj | undefined;
    // Only an embed with a heading (title or author) has a section to put a button beside.
    if (e.title !== undefined || isObj(e.author)) {
      accessory = (typeof e.url === 'string' ? takeLinkButton(rows, e.url) : undefined) ?? (i === 0 ? takeLinkButton(rows) : undefined);
      if (!accessory && isObj(e.thumbnail)) accessory = { type: V2_TYPE.thumbnail, media: { url: e.thumbnail.url } };
      if (!accessory && isHttpUrl(e.url) && e.url.length <= L.linkUrl) accessory = { type: V2_TYPE.button, style: 5, label: OPEN_LABEL, url: e.url };
    }
    return container(draft, e, `embeds[${i}]`, accessory);
  });
  const buttonRows = rows.filter((row) => (row.components as Obj[]).length > 0);
  if (containers.length === 1 && buttonRows.length > 0) (containers[0]!.components as Obj[]).push({ ...SEPARATOR }, ...buttonRows);
  top.push(...containers, ...(containers.length === 1 ? [] : buttonRows));
  warnings.push(...draft.finish());
  const fitted = fitDiscordV2Message({ ...rest, flags: (typeof flags === 'number' ? flags : 0) | IS_COMPONENTS_V2, components: top }, opts);
  return { body: fitted.body, warnings: [...warnings, ...fitted.warnings] };
}

/** The title a V2 alert shows (its first `###` text display, as written: escaped), or '' when it has none. */
export function v2Title(body: Record<string, unknown>): string {
  const find = (components: unknown): string | undefined => {
    for (const c of list(components)) {
      if (c.type === V2_TYPE.textDisplay && typeof c.content === 'string' && c.content.startsWith('### ')) return c.content.slice(4);
      const inner = find(c.components);
      if (inner !== undefined) return inner;
    }
    return undefined;
  };
  return find(body.components) ?? '';
}
