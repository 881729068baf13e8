/**
 * A Slack-like drawing of a chat.postMessage body (the exact JSON format() produced): Block Kit header, section
 * (text, fields, accessory), context, actions, divider, legacy attachments with their colour bar.
 */
import { h, link, type Child } from './dom';
import { decodeSlack, slackMrkdwn } from './markup';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);

/**
 * A text object: mrkdwn is formatted; plain_text is shown as text, with the three entities Slack decodes in any
 * message text (&amp; &lt; &gt;) decoded, since the bridge escapes every interpolated value that way.
 */
function textObject(t: unknown): Child[] {
  if (!isObj(t) || typeof t.text !== 'string') return [];
  return t.type === 'mrkdwn' ? slackMrkdwn(t.text) : [decodeSlack(t.text)];
}

function button(el: Obj): Child {
  const style = el.style === 'primary' ? 'primary' : el.style === 'danger' ? 'danger' : 'default';
  const label = textObject(el.text);
  return typeof el.url === 'string' ? link(el.url, h('span', { class: `s-button ${style}` }, ...label)) : h('span', { class: `s-button ${style}`, title: `action ${String(el.action_id ?? '')}` }, ...label);
}

function block(b: Obj): Child {
  switch (b.type) {
    case 'header':
      return h('div', { class: 's-header' }, ...textObject(b.text));
    case 'section':
      return h(
        'div',
        { class: 's-section' },
        h('div', { class: 's-section-main' }, b.text ? h('div', { class: 's-text' }, ...textObject(b.text)) : null, b.fields ? h('div', { class: 's-fields' }, ...list(b.fields).map((f) => h('div', { class: 's-field' }, ...textObject(f)))) : null),
        isObj(b.accessory) && b.accessory.type === 'button' ? h('div', { class: 's-accessory' }, button(b.accessory)) : null,
      );
    case 'context':
      return h('div', { class: 's-context' }, ...list(b.elements).map((e) => h('span', null, ...(e.type === 'image' ? [`[image: ${String(e.alt_text ?? '')}]`] : textObject(e)))));
    case 'actions':
      return h('div', { class: 's-actions' }, ...list(b.elements).filter((e) => e.type === 'button').map(button));
    case 'divider':
      return h('hr', { class: 's-divider' });
    case 'image':
      // Never fetched: the console loads nothing from outside (CSP img-src 'self').
      return h('div', { class: 's-context' }, `[image: ${String(b.alt_text ?? '')}]`);
    default:
      return h('div', { class: 's-context' }, `[${String(b.type)} block]`);
  }
}

const COLORS: Record<string, string> = { good: '#2eb67d', warning: '#ecb22e', danger: '#e01e5a' };

/** The message as Slack would show it in the channel. */
export function slackMessage(body: Obj, channel: string): HTMLElement {
  const blocks = list(body.blocks);
  const attachments = list(body.attachments);
  return h(
    'div',
    { class: 'slack-msg', role: 'group', 'aria-label': `Slack message preview for ${channel}` },
    h('div', { class: 's-avatar', 'aria-hidden': 'true' }, 'CB'),
    h(
      'div',
      { class: 's-body' },
      h('div', { class: 's-meta' }, h('strong', null, 'chatops-bridge'), h('span', { class: 's-app' }, 'APP'), h('span', { class: 's-time' }, 'now')),
      blocks.length > 0 ? blocks.map(block) : h('div', { class: 's-text' }, ...slackMrkdwn(typeof body.text === 'string' ? body.text : '')),
      attachments.map((a) => {
        const color = typeof a.color === 'string' ? COLORS[a.color] ?? (/^#[0-9a-f]{3,8}$/i.test(a.color) ? a.color : '#ddd') : '#ddd';
        const bar = h('div', { class: 's-attachment-bar' });
        bar.style.background = color;
        return h('div', { class: 's-attachment' }, bar, h('div', null, ...list(a.blocks).map(block), typeof a.text === 'string' ? h('div', { class: 's-text' }, ...slackMrkdwn(a.text)) : null));
      }),
    ),
  );
}
