/**
 * The one way the console builds DOM: elements, attributes and text nodes. Never innerHTML: alert content is
 * attacker-influenced, and text nodes cannot become markup or script whatever they contain.
 */
export type Child = Node | string | number | null | undefined | false | Child[];
type AttrValue = string | number | boolean | null | undefined | ((event: Event) => void);

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Record<string, AttrValue> | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === 'function') el.addEventListener(key.replace(/^on/, ''), value);
    else if (key === 'class') el.className = String(value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

/** Replaces every child of `parent`. */
export function replace(parent: Node, ...children: Child[]): void {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, children);
}

/** `url` when it is an absolute http(s) URL, else null: alert data never becomes a javascript: link. */
export function safeHref(url: unknown): string | null {
  if (typeof url !== 'string' || !/^https?:\/\//i.test(url)) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : null;
  } catch {
    return null;
  }
}

/** An external link that opens in a new tab without handing it this page; plain text when the URL is unsafe. */
export function link(url: unknown, ...children: Child[]): HTMLElement {
  const href = safeHref(url);
  return href ? h('a', { href, target: '_blank', rel: 'noopener noreferrer' }, ...children) : h('span', null, ...children);
}

let ids = 0;
/** A page-unique id for label/for and aria-describedby pairs. */
export const uid = (prefix: string) => `${prefix}-${++ids}`;

/** A labelled form control: <label for> + control, wrapped for layout. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  const id = control.id || uid('f');
  control.id = id;
  const hintEl = hint ? h('small', { id: `${id}-hint`, class: 'hint' }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl);
}

export function select(options: { value: string; label: string }[], value: string, attrs: Record<string, AttrValue> = {}): HTMLSelectElement {
  const el = h('select', attrs, ...options.map((o) => h('option', { value: o.value }, o.label)));
  el.value = value;
  return el;
}
