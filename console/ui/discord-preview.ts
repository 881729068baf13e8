/**
 * A Discord-like drawing of a create-message body (the exact JSON format() produced): content, embeds with their
 * colour bar, title, description, fields, footer and timestamp, and button rows. Mentions are live only where
 * the body's allowed_mentions would let them ping.
 */
import { h, link, type Child } from './dom';
import { discordMarkdown, type AllowedMentions } from './markup';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);
const str = (v: unknown) => (typeof v === 'string' ? v : '');

const BUTTON_STYLES: Record<number, string> = { 1: 'primary', 2: 'secondary', 3: 'success', 4: 'danger', 5: 'link' };

function embed(e: Obj, allowed: AllowedMentions | undefined): HTMLElement {
  const md = (s: unknown): Child[] => discordMarkdown(str(s), allowed);
  const color = typeof e.color === 'number' ? `#${e.color.toString(16).padStart(6, '0')}` : '#1e1f22';
  const el = h(
    'div',
    { class: 'd-embed' },
    isObj(e.author) ? h('div', { class: 'd-author' }, str(e.author.name)) : null,
    e.title ? h('div', { class: 'd-title' }, typeof e.url === 'string' ? link(e.url, ...md(e.title)) : md(e.title)) : null,
    e.description ? h('div', { class: 'd-description' }, ...md(e.description)) : null,
    list(e.fields).length > 0
      ? h('div', { class: 'd-fields' }, ...list(e.fields).map((f) => h('div', { class: f.inline ? 'd-field inline' : 'd-field' }, h('div', { class: 'd-field-name' }, ...md(f.name)), h('div', { class: 'd-field-value' }, ...md(f.value)))))
      : null,
    isObj(e.footer) || e.timestamp
      ? h('div', { class: 'd-footer' }, isObj(e.footer) ? str(e.footer.text) : '', e.timestamp ? ` • ${new Date(str(e.timestamp)).toLocaleString()}` : '')
      : null,
  );
  el.style.borderLeftColor = color;
  return el;
}

function buttons(rows: unknown): Child[] {
  return list(rows).map((row) =>
    h(
      'div',
      { class: 'd-row' },
      ...list(row.components).map((b) => {
        const style = BUTTON_STYLES[Number(b.style)] ?? 'secondary';
        const label = h('span', { class: `d-button ${style}` }, str(b.label), style === 'link' ? ' ↗' : '');
        return style === 'link' ? link(b.url, label) : label;
      }),
    ),
  );
}

/** The message as Discord would show it in the channel. */
export function discordMessage(body: Obj, channel: string): HTMLElement {
  const allowed = isObj(body.allowed_mentions) ? (body.allowed_mentions as AllowedMentions) : undefined;
  return h(
    'div',
    { class: 'discord-msg', role: 'group', 'aria-label': `Discord message preview for ${channel}` },
    h('div', { class: 'd-avatar', 'aria-hidden': 'true' }, 'CB'),
    h(
      'div',
      { class: 'd-body' },
      h('div', { class: 'd-meta' }, h('strong', null, 'chatops-bridge'), h('span', { class: 'd-bot' }, 'APP'), h('span', { class: 'd-time' }, 'Today')),
      body.content ? h('div', { class: 'd-content' }, ...discordMarkdown(str(body.content), allowed)) : null,
      list(body.embeds).map((e) => embed(e, allowed)),
      buttons(body.components),
    ),
  );
}
