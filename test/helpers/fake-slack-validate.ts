/**
 * Pure validators for Slack chat.postMessage / chat.update arguments, encoding platform-limits.md A1 (Block Kit
 * limits) and A3 (mention-injection rules). Used by the fake Slack server on every message and exported so unit
 * tests can check a formatter's output without HTTP.
 *
 * Lengths are JS `.length` (UTF-16 units): Slack does not define "character", and UTF-16 is never smaller than the
 * code-point count, so it is the safe budget (A1 "How characters are counted").
 */

/** Slack error codes the fake answers with. */
export type SlackErrorCode =
  | 'invalid_blocks'
  | 'invalid_blocks_format'
  | 'msg_blocks_too_long'
  | 'msg_too_long'
  | 'no_text'
  | 'too_many_attachments'
  | 'invalid_arguments';

/** One problem: JSON pointer (Slack reports `[json-pointer:/blocks/0/text/text]`), text, and the error to answer. */
export interface SlackIssue {
  path: string;
  message: string;
  error: SlackErrorCode;
}

export interface SlackValidateOptions {
  /** Default `chat.postMessage`; `chat.update` additionally requires `parse: 'none'`. */
  method?: string;
  /** Substrings that must not appear in any string of the payload (e.g. raw hostile alert text). */
  forbiddenSubstrings?: string[];
}

/** Sequences that notify people when they reach Slack unescaped (A3 rule 2). `<!here…>` covers `<!here|here>`. */
export const SLACK_LIVE_MENTION = /<!(?:channel|here|everyone|group)(?:\|[^>]*)?>|<!subteam\^[^>]*>|<@[UW][A-Z0-9]*(?:\|[^>]*)?>/g;

const KNOWN_BLOCKS = new Set([
  'section', 'header', 'context', 'actions', 'divider', 'image', 'markdown', 'rich_text', 'input', 'file', 'video',
  'table',
]);

/** Top-level arguments that are identifiers, not rendered text, and so are skipped by the text scans. */
const NON_TEXT_ARGS = new Set(['token', 'channel', 'ts', 'thread_ts', 'metadata', 'team_id']);

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validates one call's arguments; returns every problem found (empty = acceptable). */
export function collectSlackIssues(args: Record<string, unknown>, opts: SlackValidateOptions = {}): SlackIssue[] {
  const method = opts.method ?? 'chat.postMessage';
  const issues: SlackIssue[] = [];
  const add = (path: string, message: string, error: SlackErrorCode = 'invalid_blocks'): void => {
    issues.push({ path, message, error });
  };

  // A2/A3: link_names turns bare @here/@channel into live mentions.
  if ('link_names' in args && args.link_names !== undefined) {
    add('/link_names', 'must be absent (link_names makes bare @here/@channel/@everyone live mentions)', 'invalid_arguments');
  }
  if (method === 'chat.update') {
    if (args.parse !== 'none') {
      add('/parse', `chat.update must carry parse:'none' (got ${JSON.stringify(args.parse)}; the default 'client' re-parses)`, 'invalid_arguments');
    }
  } else if (args.parse !== undefined && args.parse !== 'none') {
    add('/parse', `must be 'none' or absent (got ${JSON.stringify(args.parse)}; 'full' links names)`, 'invalid_arguments');
  }

  const blocks = args.blocks;
  const hasBlocks = Array.isArray(blocks) && blocks.length > 0;
  const attachments = args.attachments;
  const hasAttachments = Array.isArray(attachments) && attachments.length > 0;
  const text = args.text;
  if (text !== undefined && typeof text !== 'string') {
    add('/text', `must be a string (got ${typeof text})`, 'invalid_arguments');
  } else if (typeof text === 'string') {
    if (text.length > 4000) add('/text', `must be at most 4000 characters (got ${text.length})`, 'msg_too_long');
    if (hasBlocks && text.trim() === '') add('/text', 'fallback text must not be empty when blocks are present', 'no_text');
  }
  if (text === undefined && hasBlocks) add('/text', 'fallback text is required when blocks are present', 'no_text');
  if ((text === undefined || text === '') && !hasBlocks && !hasAttachments && blocks === undefined) {
    add('/text', 'message has no text, blocks or attachments', 'no_text');
  }

  const budget = { text: 0, markdown: 0 };
  if (blocks !== undefined) {
    if (!Array.isArray(blocks)) add('/blocks', 'must be a JSON array', 'invalid_blocks_format');
    else validateBlocks(blocks, '/blocks', add, budget);
  }
  if (attachments !== undefined) {
    if (!Array.isArray(attachments)) add('/attachments', 'must be a JSON array', 'invalid_arguments');
    else {
      if (attachments.length > 100) add('/attachments', `at most 100 attachments (got ${attachments.length})`, 'too_many_attachments');
      attachments.forEach((a, i) => {
        if (isObj(a) && a.blocks !== undefined) {
          if (Array.isArray(a.blocks)) validateBlocks(a.blocks, `/attachments/${i}/blocks`, add, budget);
          else add(`/attachments/${i}/blocks`, 'must be a JSON array', 'invalid_blocks_format');
        }
      });
    }
  }
  // Undocumented cumulative limit (A1, bolt-js#2509): ~12k text across blocks.
  if (budget.text > 12000) add('/blocks', `total block text ${budget.text} exceeds ~12000 characters`, 'msg_blocks_too_long');
  if (budget.markdown > 12000) add('/blocks', `markdown blocks total ${budget.markdown} > 12000 characters`, 'msg_blocks_too_long');

  // A3: deep scans over everything rendered.
  for (const [key, value] of Object.entries(args)) {
    if (NON_TEXT_ARGS.has(key)) continue;
    walk(value, `/${key}`, (v, path) => {
      if (typeof v === 'string') {
        const live = v.match(SLACK_LIVE_MENTION);
        if (live) add(path, `contains live mention sequence(s) ${[...new Set(live)].join(', ')}`, pathError(path));
        for (const f of opts.forbiddenSubstrings ?? []) {
          if (f !== '' && v.includes(f)) add(path, `contains forbidden substring ${JSON.stringify(f)}`, pathError(path));
        }
      } else if (isObj(v)) {
        if (v.type === 'mrkdwn' && v.verbatim !== true) {
          add(`${path}/verbatim`, 'mrkdwn text object must set verbatim:true (otherwise @here/@channel auto-parse)');
        }
        if ((v.type === 'broadcast' || v.type === 'user' || v.type === 'usergroup') && path.includes('/elements/')) {
          add(path, `rich_text ${v.type} element is a live mention`);
        }
      }
    });
  }
  return issues;
}

/**
 * Validates chat.postMessage / chat.update arguments (blocks as objects, as the fake parses them).
 * Returns `"<json pointer>: <problem>"` strings; empty means the message passes A1 and A3.
 */
export function validateSlackMessage(args: Record<string, unknown>, opts: SlackValidateOptions = {}): string[] {
  return collectSlackIssues(args, opts).map((i) => `${i.path}: ${i.message}`);
}

function pathError(path: string): SlackErrorCode {
  return path.startsWith('/blocks') || path.includes('/blocks/') ? 'invalid_blocks' : 'invalid_arguments';
}

function walk(v: unknown, path: string, visit: (v: unknown, path: string) => void): void {
  visit(v, path);
  if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}/${i}`, visit));
  else if (isObj(v)) for (const [k, x] of Object.entries(v)) walk(x, `${path}/${k}`, visit);
}

type Add = (path: string, message: string, error?: SlackErrorCode) => void;

function validateBlocks(blocks: unknown[], base: string, add: Add, budget: { text: number; markdown: number }): void {
  if (blocks.length > 50) add(base, `at most 50 blocks (got ${blocks.length})`);
  const blockIds = new Set<string>();
  blocks.forEach((b, i) => {
    const p = `${base}/${i}`;
    if (!isObj(b) || typeof b.type !== 'string') {
      add(p, 'block must be an object with a string type');
      return;
    }
    if (b.block_id !== undefined) {
      if (typeof b.block_id !== 'string' || b.block_id.length === 0 || b.block_id.length > 255) {
        add(`${p}/block_id`, 'must be a string of 1–255 characters');
      } else if (blockIds.has(b.block_id)) add(`${p}/block_id`, `duplicate block_id ${JSON.stringify(b.block_id)}`);
      else blockIds.add(b.block_id);
    }
    if (!KNOWN_BLOCKS.has(b.type)) {
      add(`${p}/type`, `unsupported block type ${JSON.stringify(b.type)}`);
      return;
    }
    switch (b.type) {
      case 'section': {
        if (b.text === undefined && b.fields === undefined) add(p, 'section needs text or fields');
        if (b.text !== undefined) textObject(b.text, `${p}/text`, 3000, add, budget);
        if (b.fields !== undefined) {
          if (!Array.isArray(b.fields)) add(`${p}/fields`, 'must be an array');
          else {
            if (b.fields.length > 10) add(`${p}/fields`, `at most 10 fields (got ${b.fields.length})`);
            b.fields.forEach((f, j) => textObject(f, `${p}/fields/${j}`, 2000, add, budget));
          }
        }
        if (b.accessory !== undefined) element(b.accessory, `${p}/accessory`, add, budget, new Set());
        break;
      }
      case 'header':
        textObject(b.text, `${p}/text`, 150, add, budget, true);
        break;
      case 'context': {
        if (!Array.isArray(b.elements) || b.elements.length === 0) add(`${p}/elements`, 'must be a non-empty array');
        else {
          if (b.elements.length > 10) add(`${p}/elements`, `at most 10 elements (got ${b.elements.length})`);
          b.elements.forEach((e, j) => {
            if (isObj(e) && e.type === 'image') imageFields(e, `${p}/elements/${j}`, add);
            else textObject(e, `${p}/elements/${j}`, 3000, add, budget);
          });
        }
        break;
      }
      case 'actions': {
        if (!Array.isArray(b.elements) || b.elements.length === 0) add(`${p}/elements`, 'must be a non-empty array');
        else {
          if (b.elements.length > 25) add(`${p}/elements`, `at most 25 elements (got ${b.elements.length})`);
          const ids = new Set<string>();
          b.elements.forEach((e, j) => element(e, `${p}/elements/${j}`, add, budget, ids));
        }
        break;
      }
      case 'image':
        imageFields(b, p, add);
        if (b.title !== undefined) textObject(b.title, `${p}/title`, 2000, add, budget, true);
        break;
      case 'markdown':
        if (typeof b.text !== 'string' || b.text.length === 0) add(`${p}/text`, 'must be a non-empty string');
        else budget.markdown += b.text.length;
        break;
      default:
        // divider, rich_text, input, file, video, table: no limits in A1 beyond block_id; rich_text mentions are
        // caught by the deep scan.
        break;
    }
  });
}

function textObject(
  t: unknown,
  path: string,
  max: number,
  add: Add,
  budget: { text: number },
  plainOnly = false,
): void {
  if (!isObj(t)) {
    add(path, 'must be a text object');
    return;
  }
  if (t.type !== 'plain_text' && t.type !== 'mrkdwn') add(`${path}/type`, `must be plain_text or mrkdwn (got ${JSON.stringify(t.type)})`);
  else if (plainOnly && t.type !== 'plain_text') add(`${path}/type`, 'must be plain_text');
  if (typeof t.text !== 'string') {
    add(`${path}/text`, 'must be a string');
    return;
  }
  budget.text += t.text.length;
  if (t.text.length < 1) add(`${path}/text`, 'must be at least 1 character');
  if (t.text.length > max) add(`${path}/text`, `must be at most ${max} characters (got ${t.text.length})`);
}

function httpUrl(v: unknown, path: string, max: number, add: Add): void {
  if (typeof v !== 'string') {
    add(path, 'must be a string URL');
    return;
  }
  if (v.length > max) add(path, `must be at most ${max} characters (got ${v.length})`);
  let ok = false;
  try {
    const u = new URL(v);
    ok = u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    ok = false;
  }
  if (!ok) add(path, `must be an absolute http(s) URL (got ${JSON.stringify(v.slice(0, 80))})`);
}

function imageFields(e: Record<string, unknown>, path: string, add: Add): void {
  if (e.slack_file === undefined) httpUrl(e.image_url, `${path}/image_url`, 3000, add);
  if (typeof e.alt_text !== 'string' || e.alt_text.length === 0 || e.alt_text.length > 2000) {
    add(`${path}/alt_text`, 'must be a string of 1–2000 characters');
  }
}

function element(e: unknown, path: string, add: Add, budget: { text: number }, actionIds: Set<string>): void {
  if (!isObj(e) || typeof e.type !== 'string') {
    add(path, 'element must be an object with a type');
    return;
  }
  if (e.action_id !== undefined) {
    if (typeof e.action_id !== 'string' || e.action_id.length === 0 || e.action_id.length > 255) {
      add(`${path}/action_id`, 'must be a string of 1–255 characters');
    } else if (actionIds.has(e.action_id)) add(`${path}/action_id`, `duplicate action_id ${JSON.stringify(e.action_id)} in block`);
    else actionIds.add(e.action_id);
  }
  if (e.type === 'image') {
    imageFields(e, path, add);
    return;
  }
  if (e.type === 'static_select') {
    staticSelect(e, path, add, budget);
    return;
  }
  if (e.type !== 'button') return;
  textObject(e.text, `${path}/text`, 75, add, budget, true);
  if (e.url !== undefined) httpUrl(e.url, `${path}/url`, 3000, add);
  if (e.value !== undefined && (typeof e.value !== 'string' || e.value.length > 2000)) {
    add(`${path}/value`, 'must be a string of at most 2000 characters');
  }
  if (e.style !== undefined && e.style !== 'primary' && e.style !== 'danger') {
    add(`${path}/style`, `must be primary or danger (got ${JSON.stringify(e.style)})`);
  }
  if (e.accessibility_label !== undefined && (typeof e.accessibility_label !== 'string' || e.accessibility_label.length > 75)) {
    add(`${path}/accessibility_label`, 'must be a string of at most 75 characters');
  }
}

/** A static_select (Block Kit): plain_text placeholder ≤150, 1–100 options of plain_text ≤75 and a unique value ≤150. */
function staticSelect(e: Record<string, unknown>, path: string, add: Add, budget: { text: number }): void {
  if (e.placeholder !== undefined) textObject(e.placeholder, `${path}/placeholder`, 150, add, budget, true);
  if (!Array.isArray(e.options) || e.options.length === 0 || e.options.length > 100) {
    add(`${path}/options`, 'must be a list of 1–100 options');
    return;
  }
  const values = new Set<string>();
  e.options.forEach((o, i) => {
    if (!isObj(o)) return add(`${path}/options/${i}`, 'must be an object');
    textObject(o.text, `${path}/options/${i}/text`, 75, add, budget, true);
    if (typeof o.value !== 'string' || o.value.length === 0 || o.value.length > 150) add(`${path}/options/${i}/value`, 'must be a string of 1–150 characters');
    else if (values.has(o.value)) add(`${path}/options/${i}/value`, `duplicate option value ${JSON.stringify(o.value)}`);
    else values.add(o.value);
  });
}
