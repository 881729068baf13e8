/**
 * A Discord-like drawing of a create-message body (the exact JSON format() produced): content, embeds with their
 * colour bar, title, description, fields, footer and timestamp, and button rows; or, for a Components V2 message
 * (flag 1 << 15), its components: containers with their accent bar, text displays (headings, subtext), sections
 * with their accessory beside the text, separators, media placeholders and button rows. Mentions are live only
 * where the body's allowed_mentions would let them ping.
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

function button(b: Obj): HTMLElement {
  const style = BUTTON_STYLES[Number(b.style)] ?? 'secondary';
  const label = h('span', { class: `d-button ${style}` }, str(b.label), style === 'link' ? ' ↗' : '');
  return style === 'link' ? link(b.url, label) : label;
}

function buttons(rows: unknown): Child[] {
  return list(rows).map((row) => h('div', { class: 'd-row' }, ...list(row.components).map(button)));
}

/** IS_COMPONENTS_V2: the message is its components (no content, no embeds). */
const IS_COMPONENTS_V2 = 1 << 15;

/** A text display's markdown, line by line: `#`–`###` headings and `-#` subtext are block formats in V2 text. */
function v2Text(content: string, allowed: AllowedMentions | undefined): HTMLElement {
  return h(
    'div',
    { class: 'd-text' },
    ...content.split('\n').map((line) => {
      const heading = /^(#{1,3}) (.*)$/.exec(line);
      if (heading) return h('div', { class: `d-h${heading[1]!.length}` }, ...discordMarkdown(heading[2]!, allowed));
      const sub = /^-# (.*)$/.exec(line);
      if (sub) return h('div', { class: 'd-subtext' }, ...discordMarkdown(sub[1]!, allowed));
      return h('div', { class: 'd-line' }, ...(line === '' ? ['\u00a0'] : discordMarkdown(line, allowed)));
    }),
  );
}

/** Media is not fetched (the console loads nothing from other hosts): a labelled placeholder linking to it. */
const media = (url: unknown, cls: string): HTMLElement => link(url, h('span', { class: cls }, '🖼'));

function v2Component(c: Obj, allowed: AllowedMentions | undefined): Child {
  switch (c.type) {
    case 1:
      return buttons([c]);
    case 10:
      return v2Text(str(c.content), allowed);
    case 14:
      return h('div', { class: c.divider === false ? 'd-spacer' : 'd-separator', 'data-spacing': String(c.spacing ?? 1) });
    case 9: {
      const a = isObj(c.accessory) ? c.accessory : {};
      const accessory = a.type === 11 ? media(isObj(a.media) ? a.media.url : '', 'd-thumb') : button(a);
      return h('div', { class: 'd-section' }, h('div', { class: 'd-section-text' }, ...list(c.components).map((t) => v2Component(t, allowed))), h('div', { class: 'd-accessory' }, accessory));
    }
    case 12:
      return h('div', { class: 'd-gallery' }, ...list(c.items).map((item) => media(isObj(item.media) ? item.media.url : '', 'd-media')));
    case 17: {
      const el = h('div', { class: 'd-container' }, ...list(c.components).map((x) => v2Component(x, allowed)));
      if (typeof c.accent_color === 'number') el.style.borderLeftColor = `#${c.accent_color.toString(16).padStart(6, '0')}`;
      return el;
    }
    default:
      return h('div', { class: 'd-unknown' }, `(component type ${String(c.type)})`);
  }
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
      ...(typeof body.flags === 'number' && (body.flags & IS_COMPONENTS_V2) !== 0
        ? [h('div', { class: 'd-v2' }, ...list(body.components).map((c) => v2Component(c, allowed)))]
        : [
            body.content ? h('div', { class: 'd-content' }, ...discordMarkdown(str(body.content), allowed)) : null,
            list(body.embeds).map((e) => embed(e, allowed)),
            buttons(body.components),
          ]),
    ),
  );
}
