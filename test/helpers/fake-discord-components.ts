/**
 * The fake Discord's component rules, written from Discord's documentation (components/reference.mdx,
 * message.mdx, webhook.mdx; next-features.md "Discord Components V2"), independent of the bridge's fitters:
 * buttons (legacy rows and V2 alike) and the Components V2 tree — where each type may sit, sections with 1–3 text
 * displays and one button or thumbnail accessory, thumbnails only as accessories, at most 40 components (nested
 * counted), at most 4,000 characters across text displays, unique custom_ids, what plain webhooks may send, and
 * what an edit may do to the flag of the stored message.
 */

export type Path = (string | number)[];
export type Len = (v: unknown, path: Path, max: number, required: boolean) => number;
export type Url = (v: unknown, path: Path, max?: number, allowAttachment?: boolean) => void;
export type Add = (path: Path, code: string, message: string) => void;

/** What the component checks need to know about the request. */
export interface ComponentRules {
  len: Len;
  url: Url;
  add: Add;
  /** A plain (not application-owned) webhook: interactive components are refused. */
  plainWebhook: boolean;
  /** custom_ids seen so far in this message (unique per message). */
  customIds: Set<string>;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Message flag IS_COMPONENTS_V2. */
export const IS_COMPONENTS_V2 = 1 << 15;
/** Components in one message, nested ones included (raised from 30 on 2025-04-29). */
export const V2_MAX_COMPONENTS = 40;
/** Characters across all text displays of one message (discord-api-docs PR #8562). */
export const V2_MAX_TEXT = 4000;

const TOP = new Set([1, 9, 10, 12, 13, 14, 17]);
const IN_CONTAINER = new Set([1, 9, 10, 12, 13, 14]);
const NAMES: Record<number, string> = { 1: 'action row', 2: 'button', 9: 'section', 10: 'text display', 11: 'thumbnail', 12: 'media gallery', 13: 'file', 14: 'separator', 17: 'container' };

/** One button, in an action row or as a section accessory. */
export function validateButton(c: Record<string, unknown>, cp: Path, r: ComponentRules): void {
  const { len, url, add } = r;
  if (c.label === undefined && c.emoji === undefined) add([...cp, 'label'], 'BASE_TYPE_REQUIRED', 'button needs a label or emoji');
  if (c.label !== undefined) len(c.label, [...cp, 'label'], 80, true);
  if (c.style === 5) {
    if (c.url === undefined) add([...cp, 'url'], 'BASE_TYPE_REQUIRED', 'link buttons must have a url');
    else url(c.url, [...cp, 'url'], 512);
    if (c.custom_id !== undefined) add([...cp, 'custom_id'], 'COMPONENT_INVALID', 'link buttons cannot have a custom_id');
  } else if (c.style === 6) {
    if (c.sku_id === undefined) add([...cp, 'sku_id'], 'BASE_TYPE_REQUIRED', 'premium buttons need sku_id');
  } else if (typeof c.style === 'number' && c.style >= 1 && c.style <= 4) {
    customId(c, cp, r);
    if (c.url !== undefined) add([...cp, 'url'], 'COMPONENT_INVALID', 'only link buttons may have a url');
    if (r.plainWebhook) add(cp, 'BRIDGE_INTERACTIVE_ON_WEBHOOK', 'plain (non-application-owned) webhooks cannot send interactive buttons');
  } else add([...cp, 'style'], 'BASE_TYPE_CHOICES', `invalid button style ${JSON.stringify(c.style)}`);
}

/** custom_id 1–100, unique in the message. */
export function customId(c: Record<string, unknown>, cp: Path, r: ComponentRules): void {
  r.len(c.custom_id, [...cp, 'custom_id'], 100, true);
  if (typeof c.custom_id !== 'string') return;
  if (r.customIds.has(c.custom_id)) r.add([...cp, 'custom_id'], 'COMPONENT_CUSTOM_ID_DUPLICATED', `duplicate custom_id ${JSON.stringify(c.custom_id)}`);
  r.customIds.add(c.custom_id);
}

/** The children of one action row (buttons, or one select menu). */
export function validateRow(row: Record<string, unknown>, rp: Path, r: ComponentRules): void {
  const children = Array.isArray(row.components) ? row.components : [];
  if (children.length < 1 || children.length > 5) r.add([...rp, 'components'], 'BASE_TYPE_BAD_LENGTH', `action row needs 1–5 components (got ${children.length})`);
  children.forEach((c, j) => {
    const cp: Path = [...rp, 'components', j];
    if (!isObj(c)) return r.add(cp, 'DICT_TYPE_CONVERT', 'component must be an object');
    if (c.type === 2) return validateButton(c, cp, r);
    if ([3, 5, 6, 7, 8].includes(c.type as number)) {
      customId(c, cp, r);
      if (c.type === 3) stringSelectOptions(c, cp, r.add);
      if (children.length !== 1) r.add(cp, 'COMPONENT_LAYOUT_WIDTH_EXCEEDED', 'a select menu must be alone in its action row');
      if (r.plainWebhook) r.add(cp, 'BRIDGE_INTERACTIVE_ON_WEBHOOK', 'plain (non-application-owned) webhooks cannot send select menus');
      return;
    }
    r.add([...cp, 'type'], 'COMPONENT_TYPE_INVALID', `unsupported component type ${JSON.stringify(c.type)} in an action row`);
  });
}

/** A string select's options: 1–25, each with a label and a unique value of 1–100 characters; placeholder ≤150. */
function stringSelectOptions(c: Record<string, unknown>, cp: Path, add: Add): void {
  if (typeof c.placeholder === 'string' && c.placeholder.length > 150) add([...cp, 'placeholder'], 'BASE_TYPE_MAX_LENGTH', 'placeholder is at most 150 characters');
  if (!Array.isArray(c.options) || c.options.length < 1 || c.options.length > 25) {
    add([...cp, 'options'], 'BASE_TYPE_BAD_LENGTH', 'a string select needs 1 to 25 options');
    return;
  }
  const values = new Set<string>();
  c.options.forEach((o, i) => {
    const op = [...cp, 'options', i];
    if (!isObj(o)) return add(op, 'DICT_TYPE_CONVERT', 'option must be an object');
    for (const key of ['label', 'value'] as const) {
      const v = o[key];
      if (typeof v !== 'string' || v.length < 1 || v.length > 100) add([...op, key], 'BASE_TYPE_BAD_LENGTH', `${key} must be 1 to 100 characters`);
    }
    if (typeof o.value === 'string') {
      if (values.has(o.value)) add([...op, 'value'], 'SELECT_COMPONENT_OPTION_VALUE_DUPLICATED', `duplicate option value ${JSON.stringify(o.value)}`);
      values.add(o.value);
    }
  });
}

/** Contents of every text display in a V2 component list (nested), in order. */
export function textDisplays(components: unknown): string[] {
  if (!Array.isArray(components)) return [];
  return components.flatMap((c) => {
    if (!isObj(c)) return [];
    return [...(c.type === 10 && typeof c.content === 'string' ? [c.content] : []), ...textDisplays(c.components)];
  });
}

/**
 * A Components V2 message's `components`. Returns the number of components (nested counted). Totals (40
 * components, 4,000 characters of text displays) are checked here; the message-level rules (flag vs content and
 * embeds, with_components) by the caller.
 */
export function validateV2Components(list: unknown[], r: ComponentRules): number {
  let count = 0;
  let text = 0;
  const ids = new Set<number>();
  const one = (c: unknown, p: Path, allowed: Set<number>, where: string): void => {
    if (!isObj(c)) return r.add(p, 'DICT_TYPE_CONVERT', 'component must be an object');
    count++;
    if (c.id !== undefined) {
      if (!Number.isInteger(c.id)) r.add([...p, 'id'], 'NUMBER_TYPE_COERCE', 'id must be an integer');
      else if (ids.has(c.id as number)) r.add([...p, 'id'], 'COMPONENT_ID_DUPLICATED', `duplicate component id ${String(c.id)}`);
      else ids.add(c.id as number);
    }
    const type = c.type as number;
    if (!allowed.has(type)) {
      const why = type === 11 ? 'a thumbnail is only allowed as a section accessory' : type === 2 ? 'a button must be in an action row or a section accessory' : `${NAMES[type] ?? `type ${JSON.stringify(c.type)}`} is not allowed ${where}`;
      return r.add([...p, 'type'], 'COMPONENT_LAYOUT_INVALID', why);
    }
    const children = Array.isArray(c.components) ? c.components : [];
    switch (type) {
      case 1:
        count += children.length;
        return validateRow(c, p, r);
      case 10:
        text += r.len(c.content, [...p, 'content'], 4000, true);
        return;
      case 14:
        if (c.divider !== undefined && typeof c.divider !== 'boolean') r.add([...p, 'divider'], 'BASE_TYPE_BOOLEAN', 'must be a boolean');
        if (c.spacing !== undefined && c.spacing !== 1 && c.spacing !== 2) r.add([...p, 'spacing'], 'BASE_TYPE_CHOICES', 'spacing must be 1 (small) or 2 (large)');
        return;
      case 12: {
        const items = Array.isArray(c.items) ? c.items : [];
        if (items.length < 1 || items.length > 10) r.add([...p, 'items'], 'BASE_TYPE_BAD_LENGTH', `a media gallery holds 1–10 items (got ${items.length})`);
        items.forEach((item, j) => r.url(isObj(item) && isObj(item.media) ? item.media.url : undefined, [...p, 'items', j, 'media', 'url'], undefined, true));
        return;
      }
      case 13:
        if (!(isObj(c.file) && typeof c.file.url === 'string' && c.file.url.startsWith('attachment://'))) r.add([...p, 'file'], 'COMPONENT_INVALID', 'a file component shows an uploaded attachment (attachment://…)');
        return;
      case 9: {
        if (children.length < 1 || children.length > 3) r.add([...p, 'components'], 'BASE_TYPE_BAD_LENGTH', `a section holds 1–3 text displays (got ${children.length})`);
        children.forEach((x, j) => one(x, [...p, 'components', j], new Set([10]), 'in a section'));
        const a = c.accessory;
        if (!isObj(a)) return r.add([...p, 'accessory'], 'BASE_TYPE_REQUIRED', 'a section needs an accessory (a button or a thumbnail)');
        count++;
        if (a.type === 2) validateButton(a, [...p, 'accessory'], r);
        else if (a.type === 11) {
          r.url(isObj(a.media) ? a.media.url : undefined, [...p, 'accessory', 'media', 'url'], undefined, true);
          if (a.description !== undefined && a.description !== null) r.len(a.description, [...p, 'accessory', 'description'], 1024, false);
        } else r.add([...p, 'accessory', 'type'], 'COMPONENT_LAYOUT_INVALID', 'a section accessory must be a button or a thumbnail');
        return;
      }
      default: {
        // 17, container
        const accent = c.accent_color;
        if (accent !== undefined && accent !== null && !(Number.isInteger(accent) && (accent as number) >= 0 && (accent as number) <= 0xffffff)) {
          r.add([...p, 'accent_color'], 'NUMBER_TYPE_MAX', `accent_color must be an integer 0–16777215 (got ${JSON.stringify(accent)})`);
        }
        if (c.spoiler !== undefined && typeof c.spoiler !== 'boolean') r.add([...p, 'spoiler'], 'BASE_TYPE_BOOLEAN', 'must be a boolean');
        if (children.length < 1) r.add([...p, 'components'], 'BASE_TYPE_BAD_LENGTH', 'a container needs at least one component');
        children.forEach((x, j) => one(x, [...p, 'components', j], IN_CONTAINER, 'in a container'));
      }
    }
  };
  list.forEach((c, i) => one(c, ['components', i], TOP, 'at the top level'));
  if (count > V2_MAX_COMPONENTS) r.add(['components'], 'BASE_TYPE_MAX_LENGTH', `Must be ${V2_MAX_COMPONENTS} or fewer components in total (got ${count})`);
  if (text > V2_MAX_TEXT) r.add(['components'], 'BASE_TYPE_MAX_LENGTH', `text displays must hold ${V2_MAX_TEXT} or fewer characters in total (got ${text})`);
  return count;
}

/** A problem as the validator reports it (fake-discord-validate.ts DiscordIssue). */
export interface Issue {
  path: Path;
  code: string;
  message: string;
}

/** Whether message `flags` carry IS_COMPONENTS_V2. */
export const isV2 = (flags: unknown): boolean => typeof flags === 'number' && (flags & IS_COMPONENTS_V2) !== 0;

/**
 * What an edit may do to the stored message (message.mdx L1180–1209): IS_COMPONENTS_V2 cannot be removed once set;
 * an edit that sets it on a legacy message must reset `content` to null and `embeds` to [] (unless the message has
 * none), or Discord answers 400.
 */
export function editStateIssues(stored: Record<string, unknown>, body: Record<string, unknown>): Issue[] {
  const issues: Issue[] = [];
  if (isV2(stored.flags) && body.flags !== undefined && !isV2(body.flags)) {
    issues.push({ path: ['flags'], code: 'BASE_TYPE_BAD', message: 'IS_COMPONENTS_V2 cannot be removed from a message' });
  }
  if (!isV2(stored.flags) && isV2(body.flags)) {
    const content = body.content === undefined ? stored.content : body.content;
    const embeds = body.embeds === undefined ? stored.embeds : body.embeds;
    if ((typeof content === 'string' && content !== '') || (Array.isArray(embeds) && embeds.length > 0)) {
      issues.push({ path: ['flags'], code: 'BASE_TYPE_BAD', message: 'upgrading to Components V2 needs content: null and embeds: []' });
    }
  }
  return issues;
}
