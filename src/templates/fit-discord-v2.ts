/**
 * Makes a Components V2 message body postable (reference next-features.md "Discord Components V2"): the same
 * conventions as the embed fitter (fit-discord.ts) — never throws, never mutates, trims visibly with "…", warns for
 * every change — for the limits discord.js does not check: 40 components in all (nested ones counted), 4,000
 * characters across every text display, unique custom_ids ≤100, and which component may sit where.
 */
import { DISCORD_LIMITS as L, DISCORD_V2_LIMITS as V } from './limits';
import { DISCORD_PLACEHOLDER, IS_COMPONENTS_V2, fitButton, fitRowEntry, fitColor, fitMessageCommon, fitStr, isMediaUrl, type FitCtx, type FitDiscordOptions } from './fit-discord';
import { shrinkLongestFirst, type TextSlot } from './truncate';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Component types of a V2 message (components/reference.mdx). */
export const V2_TYPE = { actionRow: 1, button: 2, section: 9, textDisplay: 10, thumbnail: 11, mediaGallery: 12, file: 13, separator: 14, container: 17 } as const;

/** Where a component sits: which types each place accepts. */
type Place = 'top' | 'container' | 'section';
const ALLOWED: Record<Place, ReadonlySet<number>> = {
  top: new Set([V2_TYPE.actionRow, V2_TYPE.section, V2_TYPE.textDisplay, V2_TYPE.mediaGallery, V2_TYPE.separator, V2_TYPE.container]),
  container: new Set([V2_TYPE.actionRow, V2_TYPE.section, V2_TYPE.textDisplay, V2_TYPE.mediaGallery, V2_TYPE.separator]),
  section: new Set([V2_TYPE.textDisplay]),
};

/** Keys a V2 message must not carry: Discord answers 400 when the flag is set together with any of them. */
const FORBIDDEN_WITH_V2 = ['content', 'embeds', 'sticker_ids', 'poll'] as const;

interface V2Ctx extends FitCtx {
  interactive: boolean;
  customIds: Set<string>;
}

/** True for a body that carries the IS_COMPONENTS_V2 flag. */
export function isComponentsV2(body: unknown): boolean {
  return isObj(body) && typeof body.flags === 'number' && (body.flags & IS_COMPONENTS_V2) !== 0;
}

/** Components in `c`, itself included: section children and accessory, container children, row buttons. */
export function countComponents(c: unknown): number {
  if (!isObj(c)) return 0;
  const children = Array.isArray(c.components) ? c.components.reduce((n: number, x) => n + countComponents(x), 0) : 0;
  return 1 + children + (isObj(c.accessory) ? 1 : 0);
}

/** Fits a list of components for `place`, in place order; entries may be dropped or (sections) unwrapped. */
function fitList(ctx: V2Ctx, list: unknown, path: string, place: Place): Obj[] {
  if (!Array.isArray(list)) {
    ctx.warnings.push(`${path} is not an array; removed`);
    return [];
  }
  return list.flatMap((c, i) => fitComponent(ctx, c, `${path}[${i}]`, place));
}

function fitComponent(ctx: V2Ctx, c: unknown, p: string, place: Place): Obj[] {
  const drop = (why: string): Obj[] => (ctx.warnings.push(`${p} dropped: ${why}`), []);
  if (!isObj(c)) return drop('not an object');
  if (c.type === V2_TYPE.thumbnail) return drop('a thumbnail can only be a section accessory');
  if (!ALLOWED[place].has(c.type as number)) return drop(`component type ${JSON.stringify(c.type)} is not allowed ${place === 'top' ? 'at the top level' : `in a ${place}`}`);
  delete c.id; // optional numeric ids must be unique per message; Discord assigns them when absent
  switch (c.type) {
    case V2_TYPE.textDisplay:
      fitStr(ctx, c, 'content', `${p}.content`, V.textDisplay, true);
      return [c];
    case V2_TYPE.separator:
      if (c.divider !== undefined && typeof c.divider !== 'boolean') delete c.divider;
      if (c.spacing !== undefined && c.spacing !== 1 && c.spacing !== 2) delete c.spacing;
      return [c];
    case V2_TYPE.actionRow: {
      let buttons = (Array.isArray(c.components) ? c.components : []).filter((b, j) => fitRowEntry(ctx, b, `${p}.components[${j}]`, ctx.interactive, ctx.customIds));
      // The Silence menu (a string select) takes its whole row, in V2 as in the embed layout.
      const select = buttons.find((b) => isObj(b) && b.type === 3);
      if (select && buttons.length > 1) {
        ctx.warnings.push(`${p}: dropped ${buttons.length - 1} components beside a select menu (a select must be alone in its row)`);
        buttons = [select];
      }
      if (buttons.length > L.buttonsPerRow) ctx.warnings.push(`${p}: dropped ${buttons.length - L.buttonsPerRow} buttons beyond the limit of ${L.buttonsPerRow}`);
      if (buttons.length === 0) return drop('no buttons left');
      c.components = buttons.slice(0, L.buttonsPerRow);
      return [c];
    }
    case V2_TYPE.mediaGallery: {
      const items = (Array.isArray(c.items) ? c.items : []).filter((item): item is Obj => isObj(item) && isObj(item.media) && isMediaUrl(item.media.url));
      if (items.length === 0) return drop('no item with an http(s)/attachment URL');
      if (items.length > V.galleryItems) ctx.warnings.push(`${p}: dropped ${items.length - V.galleryItems} items beyond the limit of ${V.galleryItems}`);
      c.items = items.slice(0, V.galleryItems);
      (c.items as Obj[]).forEach((item, j) => fitStr(ctx, item, 'description', `${p}.items[${j}].description`, V.mediaDescription, false));
      return [c];
    }
    case V2_TYPE.section:
      return fitSection(ctx, c, p);
    default: {
      // Container (the only type left that a place allows).
      fitColor(ctx, c, 'accent_color', p);
      if (c.spoiler !== undefined && typeof c.spoiler !== 'boolean') delete c.spoiler;
      c.components = fitList(ctx, c.components, `${p}.components`, 'container');
      if ((c.components as Obj[]).length === 0) return drop('an empty container');
      return [c];
    }
  }
}

/**
 * A section: 1..3 text displays beside one accessory (a button, a link one included, or a thumbnail). Text displays
 * beyond three follow the section; without a usable accessory its text displays stand on their own.
 */
function fitSection(ctx: V2Ctx, c: Obj, p: string): Obj[] {
  const texts = fitList(ctx, c.components, `${p}.components`, 'section');
  const accessory = c.accessory;
  let ok = false;
  if (isObj(accessory) && accessory.type === V2_TYPE.button) ok = fitButton(ctx, accessory, `${p}.accessory`, ctx.interactive, ctx.customIds);
  else if (isObj(accessory) && accessory.type === V2_TYPE.thumbnail && isObj(accessory.media) && isMediaUrl(accessory.media.url)) {
    fitStr(ctx, accessory, 'description', `${p}.accessory.description`, V.mediaDescription, false);
    ok = true;
  } else ctx.warnings.push(`${p}.accessory dropped: must be a button or a thumbnail with an http(s)/attachment URL`);
  if (texts.length === 0) {
    ctx.warnings.push(`${p} dropped: a section needs 1..${V.sectionTexts} text displays`);
    return [];
  }
  if (texts.length > V.sectionTexts) ctx.warnings.push(`${p}: text displays beyond ${V.sectionTexts} moved after the section`);
  if (!ok) {
    ctx.warnings.push(`${p}: without an accessory its text displays stand alone`);
    return texts;
  }
  c.components = texts.slice(0, V.sectionTexts);
  return [c, ...texts.slice(V.sectionTexts)];
}

/** The message's components, depth first: [list, index] of each, so the caller can remove one. */
function* places(list: Obj[]): Generator<[Obj[], number]> {
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    if (c.type === V2_TYPE.container && Array.isArray(c.components)) yield* places(c.components as Obj[]);
    yield [list, i];
  }
}

/**
 * Removes components until the message has at most {@link V.components}, least needed first: containers after the
 * first (a template's second embed onwards), then buttons from the last row (link rows come after the triage row),
 * then separators, then whatever comes last.
 */
function fitCount(ctx: FitCtx, top: Obj[]): void {
  const total = () => top.reduce((n, c) => n + countComponents(c), 0);
  const before = total();
  if (before <= V.components) return;
  const last = (test: (c: Obj) => boolean): [Obj[], number] | undefined => [...places(top)].reverse().find(([list, i]) => test(list[i]!));
  while (total() > V.components) {
    const containers = top.filter((c) => c.type === V2_TYPE.container);
    const row = last((c) => c.type === V2_TYPE.actionRow);
    const at = containers.length > 1 ? ([top, top.lastIndexOf(containers[containers.length - 1]!)] as [Obj[], number])
      : row ?? last((c) => c.type === V2_TYPE.separator) ?? last((c) => c.type !== V2_TYPE.container) ?? [top, top.length - 1];
    const [list, i] = at;
    const c = list[i]!;
    if (c.type === V2_TYPE.actionRow && (c.components as Obj[]).length > 1) (c.components as Obj[]).pop();
    else list.splice(i, 1);
    // A container whose last child went goes too (an empty one is invalid).
    for (let k = top.length - 1; k >= 0; k--) if (top[k]!.type === V2_TYPE.container && (top[k]!.components as Obj[]).length === 0) top.splice(k, 1);
    if (top.length === 0) break;
  }
  ctx.warnings.push(`components: ${before - total()} removed to fit the limit of ${V.components} components`);
}

/**
 * Returns a deep copy of a Components V2 message body that satisfies the V2 rules: the flag set and `content`,
 * `embeds`, `sticker_ids`, `poll` removed; top level: action rows, sections, text displays, media galleries,
 * separators, containers; containers: the same but containers; sections: 1..3 text displays and a button or
 * thumbnail accessory; thumbnails only as accessories; file components dropped (the bridge uploads no files);
 * buttons as in the embed layout (link buttons http(s) ≤512, interactive ones only when `allowInteractive`, custom_id
 * 1..100 and unique); accent_color 0..0xFFFFFF; at most 40 components; every text display 1..4000 and 4,000 across
 * all of them (longest shrunk first, visible marker); `allowed_mentions` and the nonce as fitDiscordMessage does.
 */
export function fitDiscordV2Message(body: Record<string, unknown>, opts: FitDiscordOptions): { body: Record<string, unknown>; warnings: string[] } {
  const common = fitMessageCommon(body);
  const out = common.out;
  const ctx: V2Ctx = { ...common.ctx, interactive: opts.allowInteractive, customIds: new Set() };
  out.flags = (typeof out.flags === 'number' && Number.isInteger(out.flags) ? out.flags : 0) | IS_COMPONENTS_V2;
  for (const key of FORBIDDEN_WITH_V2) {
    if (out[key] === undefined) continue;
    delete out[key];
    ctx.warnings.push(`${key} removed: a Components V2 message cannot carry it`);
  }
  const top = fitList(ctx, out.components ?? [], 'components', 'top');
  fitCount(ctx, top);
  if (top.length === 0) {
    top.push({ type: V2_TYPE.textDisplay, content: DISCORD_PLACEHOLDER });
    ctx.warnings.push(`message had nothing to send; a text display "${DISCORD_PLACEHOLDER}" added`);
  }
  out.components = top;
  const slots: TextSlot[] = [];
  const collect = (list: Obj[], path: string): void =>
    list.forEach((c, i) => {
      if (c.type === V2_TYPE.textDisplay) slots.push({ holder: c, key: 'content', path: `${path}[${i}].content`, escapeStyle: 'discord' });
      else if (Array.isArray(c.components)) collect(c.components as Obj[], `${path}[${i}].components`);
    });
  collect(top, 'components');
  ctx.warnings.push(...shrinkLongestFirst(slots, V.textDisplayTotal, 'text display total', 1).warnings);
  return { body: out, warnings: ctx.warnings };
}
