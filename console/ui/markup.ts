/**
 * Draws Slack mrkdwn and Discord markdown as the clients would, with DOM nodes only. Mentions become pills; a
 * pill is "live" (it would notify someone) only where the platform would ping: Slack control sequences, Discord
 * mentions that `allowed_mentions` permits. Escaped or defused mention text stays plain text, so it shows inert.
 */
import { h, link, type Child } from './dom';

/** Inline emphasis shared by both flavours: code spans first (nothing inside them is formatted). */
function inline(text: string, rules: [RegExp, (m: RegExpExecArray) => Child][]): Child[] {
  const out: Child[] = [];
  let rest = text;
  while (rest.length > 0) {
    let best: { index: number; match: RegExpExecArray; make: (m: RegExpExecArray) => Child } | null = null;
    for (const [pattern, make] of rules) {
      const match = new RegExp(pattern.source, pattern.flags.replace('g', '')).exec(rest);
      if (match && (best === null || match.index < best.index)) best = { index: match.index, match, make };
    }
    if (!best) {
      out.push(rest);
      break;
    }
    if (best.index > 0) out.push(rest.slice(0, best.index));
    out.push(best.make(best.match));
    rest = rest.slice(best.index + best.match[0].length);
  }
  return out;
}

const lines = (parts: Child[][]): Child[] => parts.flatMap((p, i) => (i === 0 ? p : [h('br'), ...p]));

/** The only entities Slack decodes in message text. */
export const decodeSlack = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** Slack mrkdwn: `<…>` control sequences (mentions, links) first, then entities, then *bold* _italic_ ~strike~ `code`. */
export function slackMrkdwn(text: string): Child[] {
  const emphasis = (s: string): Child[] =>
    inline(s, [
      [/`([^`]+)`/, (m) => h('code', null, decodeSlack(m[1]!))],
      [/\*([^*\n]+)\*/, (m) => h('strong', null, ...emphasis(m[1]!))],
      [/(?<![A-Za-z0-9])_([^_\n]+)_(?![A-Za-z0-9])/, (m) => h('em', null, ...emphasis(m[1]!))],
      [/~([^~\n]+)~/, (m) => h('s', null, ...emphasis(m[1]!))],
    ]).map((c) => (typeof c === 'string' ? decodeSlack(c) : c));
  const control = (line: string): Child[] =>
    inline(line, [
      [/<([^<>]*)>/, (m) => slackControl(m[1]!)],
      [/[^<]+/, (m) => emphasis(m[0])],
    ]);
  return lines(text.split('\n').map((line) => (line.startsWith('&gt; ') ? [h('span', { class: 'quote' }, ...control(line.slice(5)))] : control(line))));
}

function slackControl(inner: string): Child {
  const [target = '', label] = inner.split('|');
  if (/^!(here|channel|everyone)$/.test(target)) return h('span', { class: 'mention live', title: 'pings (Slack control sequence)' }, `@${target.slice(1)}`);
  if (target.startsWith('!subteam^')) return h('span', { class: 'mention live', title: 'pings a user group' }, `@${label ?? target.slice(9)}`);
  if (/^@[UW]/.test(target)) return h('span', { class: 'mention live', title: 'pings a user' }, `@${label ?? target.slice(1)}`);
  if (target.startsWith('#')) return h('span', { class: 'mention channel' }, `#${label ?? target.slice(1)}`);
  if (/^https?:/i.test(target)) return link(decodeSlack(target), decodeSlack(label ?? target));
  return `<${decodeSlack(inner)}>`;
}

export interface AllowedMentions { parse?: string[]; roles?: string[]; users?: string[] }

/** Discord markdown: backslash escapes, mentions (live per allowed_mentions), masked links, emphasis, code. */
export function discordMarkdown(text: string, allowed: AllowedMentions | undefined): Child[] {
  const parse = new Set(allowed?.parse ?? []);
  const pill = (label: string, live: boolean, why: string) => h('span', { class: live ? 'mention live' : 'mention', title: why }, label);
  const rules: [RegExp, (m: RegExpExecArray) => Child][] = [
    [/\\([^A-Za-z0-9\s])/, (m) => m[1]!],
    [/`([^`]+)`/, (m) => h('code', null, m[1]!)],
    [/<@&(\d+)>/, (m) => pill(`@role ${m[1]}`, parse.has('roles') || (allowed?.roles ?? []).includes(m[1]!), 'role mention')],
    [/<@!?(\d+)>/, (m) => pill(`@user ${m[1]}`, parse.has('users') || (allowed?.users ?? []).includes(m[1]!), 'user mention')],
    [/<#(\d+)>/, (m) => pill(`#${m[1]}`, false, 'channel link')],
    // Discord's timestamp markup (the V2 layout's footer): shown in the reader's own time zone.
    [/<t:(-?\d{1,13})(?::[tTdDfFR])?>/, (m) => h('time', { class: 'd-timestamp' }, new Date(Number(m[1]) * 1000).toLocaleString())],
    [/@(everyone|here)\b/, (m) => pill(m[0], parse.has('everyone'), 'broadcast mention')],
    [/\[([^\]\n]+)\]\((https?:\/\/[^)\s]+)\)/, (m) => link(m[2], ...discordMarkdown(m[1]!, allowed))],
    [/\*\*([^*\n]+)\*\*/, (m) => h('strong', null, ...discordMarkdown(m[1]!, allowed))],
    [/__([^_\n]+)__/, (m) => h('u', null, ...discordMarkdown(m[1]!, allowed))],
    [/\*([^*\n]+)\*/, (m) => h('em', null, ...discordMarkdown(m[1]!, allowed))],
    [/(?<![A-Za-z0-9])_([^_\n]+)_(?![A-Za-z0-9])/, (m) => h('em', null, ...discordMarkdown(m[1]!, allowed))],
    [/~~([^~\n]+)~~/, (m) => h('s', null, ...discordMarkdown(m[1]!, allowed))],
  ];
  return lines(text.split('\n').map((line) => inline(line, rules)));
}
