/**
 * Escape-aware, visible truncation (reference PART C.1: "never cut inside an escape or a surrogate pair").
 */
/** Zero-width space, as inserted by discordEscape (kept local: escape.ts imports this module). */
const ZWSP = '\u200b';

/** Which escaping the text already went through, i.e. which sequences must not be split. */
export type EscapeStyle = 'slack' | 'discord' | 'none';
/** How `max` is measured. UTF-16 units (`.length`) are ≥ code points, so 'utf16' satisfies both platforms. */
export type CountMode = 'utf16' | 'codepoints';

export interface TruncateOptions {
  /** Appended when text is cut. Default {@link DEFAULT_MARKER}; {@link SHORT_MARKER} when `max` is small. */
  marker?: string;
  /** Default 'none'. */
  escapeStyle?: EscapeStyle;
  /** Default 'utf16'. */
  count?: CountMode;
}

export interface TruncateResult {
  text: string;
  truncated: boolean;
}

export const DEFAULT_MARKER = '… (truncated)';
export const SHORT_MARKER = '…';

/** Length of `s` in the given unit. */
export function measure(s: string, count: CountMode = 'utf16'): number {
  if (count === 'utf16') return s.length;
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/**
 * Whether `s` measures at most `max`, reading no further than needed: UTF-16 units are never fewer than code
 * points, so a short string fits at once and a long one is only walked until it passes `max` (a 1 MiB title
 * costs what a short one does).
 */
function fits(s: string, max: number, count: CountMode): boolean {
  if (s.length <= max) return true;
  if (count === 'utf16') return false;
  let n = 0;
  for (const _ of s) if (++n > max) return false;
  return true;
}

const isHigh = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;
/** Slack's control-character entities (and, defensively, any short named/numeric entity). */
const ENTITY = /^&[A-Za-z0-9#]{1,8};/;

/** Moves `cut` (an index into `s`; `s.slice(0, cut)` is kept) left until it splits nothing that must stay whole. */
function safeCut(s: string, cut: number, style: EscapeStyle): number {
  for (let prev = -1; prev !== cut && cut > 0; ) {
    prev = cut;
    // Never keep a lone high surrogate (would be U+FFFD or a 400 from strict JSON consumers).
    if (isHigh(s.charCodeAt(cut - 1)) && isLow(s.charCodeAt(cut))) cut--;
    if (style === 'slack') {
      // A cut inside `&amp;` leaves `&am`, which Slack shows raw, or worse lets a later `;` complete something.
      const amp = s.lastIndexOf('&', cut - 1);
      if (amp >= 0 && cut - amp < 10) {
        const m = ENTITY.exec(s.slice(amp, amp + 11));
        if (m && amp + m[0].length > cut) cut = amp;
      }
    }
    if (style === 'discord') {
      // An odd run of trailing backslashes would escape the marker (or be a half of `\*`).
      let bs = 0;
      while (bs < cut && s[cut - 1 - bs] === '\\') bs++;
      if (bs % 2 === 1) cut--;
      // Never keep just the opener of a ZWSP-broken mention (`<`/`@`, or `<`+ZWSP with its target cut away).
      if (s[cut] === ZWSP && (s[cut - 1] === '<' || s[cut - 1] === '@')) cut--;
      else if (s[cut - 1] === ZWSP && (s[cut - 2] === '<' || s[cut - 2] === '@')) cut -= 2;
    }
  }
  return Math.max(0, cut);
}

/** UTF-16 index after the first `n` code points of `s` (or `s.length`). */
function indexAfterCodePoints(s: string, n: number): number {
  let i = 0;
  for (let k = 0; k < n && i < s.length; k++) i += isHigh(s.charCodeAt(i)) && isLow(s.charCodeAt(i + 1)) ? 2 : 1;
  return i;
}

/**
 * Cuts `s` so that the result, marker included, measures at most `max`.
 * Contract: returns `s` unchanged (`truncated: false`) when it already fits; otherwise a prefix of `s` plus a visible
 * marker. The default marker falls back to `…` when it would take more than half of `max`, and to nothing when even
 * `…` does not fit. The cut never splits a surrogate pair, a Slack entity (`escapeStyle: 'slack'`), a Discord
 * backslash escape or a ZWSP-broken mention (`escapeStyle: 'discord'`). `max` is floored; NaN/negative mean 0.
 */
export function truncateText(s: string, max: number, opts: TruncateOptions = {}): TruncateResult {
  const count = opts.count ?? 'utf16';
  const limit = Number.isFinite(max) && max > 0 ? Math.floor(max) : 0;
  if (fits(s, limit, count)) return { text: s, truncated: false };
  let marker = opts.marker ?? DEFAULT_MARKER;
  if (opts.marker === undefined && measure(marker, count) * 2 > limit) marker = SHORT_MARKER;
  if (measure(marker, count) > limit) marker = '';
  const room = limit - measure(marker, count);
  const raw = count === 'utf16' ? room : indexAfterCodePoints(s, room);
  const cut = safeCut(s, raw, opts.escapeStyle ?? 'none');
  return { text: s.slice(0, cut) + marker, truncated: true };
}

/** A string property that may be shortened to meet a shared budget (e.g. Discord's 6000 across embeds). */
export interface TextSlot {
  holder: Record<string, unknown>;
  key: string;
  /** For warnings, e.g. `embeds[0].fields[3].value`. */
  path: string;
  escapeStyle: EscapeStyle;
}

const slotLength = (s: TextSlot): number => {
  const v = s.holder[s.key];
  return typeof v === 'string' ? v.length : 0;
};

/**
 * Shrinks the longest slots first until their summed UTF-16 length is ≤ `budget`: finds the largest cap C
 * (≥ `minCap`) with Σ min(len, C) ≤ budget and truncates every longer slot to C, so short texts (titles, field
 * names) survive intact while the one giant description pays. Returns warnings and the resulting total, which can
 * still exceed `budget` if even `minCap` per slot is too much (the caller then drops whole items).
 */
export function shrinkLongestFirst(
  slots: TextSlot[], budget: number, what: string, minCap = 1,
): { warnings: string[]; total: number } {
  const warnings: string[] = [];
  const lens = slots.map(slotLength);
  const sumAt = (cap: number): number => lens.reduce((a, l) => a + Math.min(l, cap), 0);
  let total = sumAt(Infinity);
  if (total <= budget) return { warnings, total };
  let lo = minCap;
  let hi = Math.max(minCap, ...lens);
  while (lo < hi) {
    // Largest cap whose sum fits; binary search because sumAt is monotone in cap.
    const mid = Math.ceil((lo + hi) / 2);
    if (sumAt(mid) <= budget) lo = mid;
    else hi = mid - 1;
  }
  slots.forEach((slot, i) => {
    const len = lens[i] ?? 0;
    if (len <= lo) return;
    const r = truncateText(slot.holder[slot.key] as string, lo, { escapeStyle: slot.escapeStyle });
    slot.holder[slot.key] = r.text;
    warnings.push(`${slot.path} truncated from ${len} to ${r.text.length} characters to fit the ${budget}-character ${what}`);
  });
  total = slots.reduce((a, s) => a + slotLength(s), 0);
  return { warnings, total };
}
