/**
 * How one render treats the alert values its template outputs: defanging of URLs off the alert's own hosts, the
 * platform escape, and the escape trace. Its own module so that what every `{{value}}` costs is the escaping
 * itself: the engine builds one {@link RenderEscaping} when a render starts and hands it to the helpers in the
 * render's private data, instead of each value re-deriving the target, trace, own hosts and closures (issue 17).
 */
import type { Alert } from '../domain/alert';
import { DISCORD_ESCAPE_INPUT_MAX, DISCORD_SEGMENT, discordEscape, jsonStringContent, SLACK_ESCAPE_INPUT_MAX, slackEscape } from './escape';
import { noteDefanged, noteEscapes, type EscapeTrace } from './escape-report';
import { alertHostSet, defangUrls, mayHoldLinks } from './links';
import type { RenderTarget } from './render-target';
import { truncateText } from './truncate';

/** Longest value a platform could show (what its escape cuts to); the console shows everything. */
const ESCAPE_INPUT_MAX: Record<RenderTarget, number> = {
  slack: SLACK_ESCAPE_INPUT_MAX,
  discord: DISCORD_ESCAPE_INPUT_MAX,
  console: Number.POSITIVE_INFINITY,
};

const PLATFORM_ESCAPE: Record<RenderTarget, (text: string) => string> = {
  slack: slackEscape,
  discord: discordEscape,
  console: (text) => text,
};

/**
 * Text up to `max` long that defanging, the target's escape and jsonStringContent all leave as it is, when `pattern`
 * does not match: none of the characters or line starts any of them acts on (escape.ts: slackEscape, markdownEscape,
 * discordEscape's own passes, jsonStringContent; links.ts: mayHoldLinks). Most alert values are such text, and one
 * test is cheaper than the four or five the full path makes (test/render-escaping.test.ts compares the two). Discord
 * only up to one escapeMarkdown piece: a longer text is cut in pieces, and a piece's start counts as a line start.
 */
const UNCHANGED: Record<RenderTarget, { pattern: RegExp; max: number }> = {
  // eslint-disable-next-line no-control-regex
  slack: { pattern: /[&<>"\\\u0000-\u001f\ud800-\udfff]|https?:|www\./i, max: SLACK_ESCAPE_INPUT_MAX },
  discord: {
    // eslint-disable-next-line no-control-regex
    pattern: /[\\`*_[\]<>@"\u0000-\u001f\ud800-\udfff]|~~|\|\||-#|^ *(?:- |#|\d+\.)|https?:|www\./im,
    max: Math.min(DISCORD_SEGMENT, DISCORD_ESCAPE_INPUT_MAX),
  },
  // eslint-disable-next-line no-control-regex
  console: { pattern: /["\\\u0000-\u001f\ud800-\udfff]/, max: Number.POSITIVE_INFINITY },
};

const NO_HOSTS: ReadonlySet<string> = new Set();

/**
 * The hosts the alert in a render's view (`root.alert`) links to: its link's, its runbook's, its extra links'.
 * Fails closed: a view without an alert has none, so nothing is linked and every URL is defanged.
 */
export function ownHostsOf(root: unknown): ReadonlySet<string> {
  const alert = root !== null && typeof root === 'object' ? (root as { alert?: unknown }).alert : undefined;
  if (!alert || typeof alert !== 'object') return NO_HOSTS;
  return alertHostSet(alert as Pick<Alert, 'link' | 'runbook' | 'links'>);
}

/**
 * One render's escaping, for `target`, of the values of the view `root`. Opaque to templates (it sits in their
 * `@data`): private fields only, and Handlebars denies prototype methods to templates.
 */
export class RenderEscaping {
  readonly #target: RenderTarget;
  /** False for the console, and for a route with `defang: false`. */
  readonly #defangs: boolean;
  readonly #trace: EscapeTrace | undefined;
  readonly #root: unknown;
  readonly #max: number;
  readonly #platform: (text: string) => string;
  readonly #onDefang: ((url: string) => void) | undefined;
  #hosts: ReadonlySet<string> | undefined;

  /** `defang`: false only for a route with `defang: false`. `trace` only observes (the console's preview). */
  constructor(target: RenderTarget, defang: boolean, trace: EscapeTrace | undefined, root: unknown) {
    this.#target = target;
    this.#defangs = target !== 'console' && defang;
    this.#trace = trace;
    this.#root = root;
    this.#max = ESCAPE_INPUT_MAX[target];
    this.#platform = PLATFORM_ESCAPE[target];
    this.#onDefang = trace ? (url) => noteDefanged(trace, url) : undefined;
  }

  get target(): RenderTarget {
    return this.#target;
  }

  /** The alert's own hosts ({@link ownHostsOf}), looked up once per render. */
  ownHosts(): ReadonlySet<string> {
    return (this.#hosts ??= ownHostsOf(this.#root));
  }

  /**
   * Defangs the URLs in one value from the view ({@link defangUrls}) unless they are on the alert's own hosts, for
   * Slack and Discord (the console links nothing), unless the route said `defang: false`. Applied to every value a
   * template outputs (escaped, raw, JSON, link labels) and to nothing the template author wrote: text in the
   * template itself never passes through a helper, so its URLs stay live. With `linkHost` (a link's label): every
   * URL not on that host is defanged, whatever the route says.
   */
  defang(text: string, linkHost?: string): string {
    if (this.#target === 'console' || (linkHost === undefined && !this.#defangs)) return text;
    // Cut first, as the platform escape would (nothing longer can be shown): defanging walks every URL of the value,
    // and a 900 KB alert text can hold 60,000 of them.
    const cut = text.length <= this.#max ? text : truncateText(text, this.#max).text;
    // Most values hold no link at all; the own hosts are only needed for one that may.
    if (!mayHoldLinks(cut)) return cut;
    return defangUrls(cut, linkHost === undefined ? this.ownHosts() : new Set([linkHost]), this.#onDefang);
  }

  /** {@link escape} of a value as the body of a JSON string: what `{{value}}` writes. */
  json(text: string): string {
    const unchanged = UNCHANGED[this.#target];
    if (text.length <= unchanged.max && !unchanged.pattern.test(text)) return text;
    return jsonStringContent(this.escape(text));
  }

  /** {@link defang}, then the platform escape, reporting to the render's trace when there is one. */
  escape(text: string, linkHost?: string): string {
    const defanged = this.defang(text, linkHost);
    const escaped = this.#platform(defanged);
    if (this.#trace) noteEscapes(this.#trace, this.#target, defanged, escaped);
    return escaped;
  }
}
