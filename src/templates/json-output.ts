/**
 * Parses what a template produced. Templates build JSON with `{{#each}}` loops, where a trailing comma is the
 * most common slip; commas directly before `]` or `}` (outside strings) are dropped before parsing so users
 * are not punished for it. Anything else that is not valid JSON, or JSON that is not an object, is a
 * {@link TemplateOutputError} that says where in the output it went wrong.
 */
export function parseTemplateJson(text: string): Record<string, unknown> {
  const { cleaned, removed } = dropTrailingCommas(text);
  let value: unknown;
  try {
    value = JSON.parse(cleaned);
  } catch (error) {
    // V8's message gives the position only for some mistakes: find it ourselves, in the text before cleaning.
    const offset = toOriginal(jsonErrorOffset(cleaned), removed);
    throw new TemplateOutputError(`template output is not valid JSON (line ${lineAt(text, offset)} of the output): ${(error as Error).message}`, offset);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TemplateOutputError('template output must be a JSON object', text.length - text.trimStart().length);
  }
  return value as Record<string, unknown>;
}

/** The output of a template was not a JSON object; `offset` is where in that output (UTF-16 index). */
export class TemplateOutputError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = 'TemplateOutputError';
  }
}

const lineAt = (text: string, offset: number) => text.slice(0, offset).split('\n').length;

/** Maps an offset in the cleaned text back to the text before the commas at `removed` were dropped. */
function toOriginal(offset: number, removed: readonly number[]): number {
  let original = offset;
  for (const index of removed) {
    if (index <= original) original++;
    else break;
  }
  return original;
}

/**
 * Copies `text` in slices between the dropped commas. Why not `out += ch` per character: alert text reaches this
 * output (a 900 KB title renders to ~2 MB), and a string built one character at a time makes millions of
 * intermediate strings; measured, that stalled the event loop for 300–500 ms per render, mostly in the GC. Strings
 * are skipped to their closing quote with indexOf rather than character by character: every render parses its whole
 * output, and most of it is inside strings.
 */
function dropTrailingCommas(text: string): { cleaned: string; removed: number[] } {
  const kept: string[] = [];
  const removed: number[] = [];
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22 /* " */) {
      i = closingQuote(text, i + 1);
      if (i < 0) break; // the rest is inside an unterminated string
    } else if (ch === 0x2c /* , */) {
      let j = i + 1;
      while (j < text.length && isSpace(text.charCodeAt(j))) j++;
      if (text[j] === ']' || text[j] === '}') {
        kept.push(text.slice(from, i));
        removed.push(i);
        from = i + 1;
      }
    }
  }
  kept.push(text.slice(from));
  return { cleaned: kept.join(''), removed };
}

/**
 * Index of the quote that ends a JSON string whose content starts at `from`, or -1: the first quote after an even
 * run of backslashes (a backslash escapes the character after it, whatever it is).
 */
function closingQuote(text: string, from: number): number {
  for (let q = text.indexOf('"', from); q >= 0; q = text.indexOf('"', q + 1)) {
    let run = 0;
    while (q - 1 - run >= from && text.charCodeAt(q - 1 - run) === 0x5c /* \ */) run++;
    if (run % 2 === 0) return q;
  }
  return -1;
}

/** `/\s/` of one UTF-16 unit, without a regex for the ASCII ones (every comma of every render asks). */
function isSpace(code: number): boolean {
  if (code === 0x20 || (code >= 0x09 && code <= 0x0d)) return true;
  return code >= 0x80 && /\s/.test(String.fromCharCode(code));
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPABLE = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);

/**
 * Offset of the first character at which `text` stops being valid JSON (RFC 8259), or `text.length` when it
 * ends too early. Only called after JSON.parse failed, so it need not be fast, only agree with it.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const fail = (): never => {
    throw new JsonStop(i);
  };
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const string = () => {
    i++; // opening quote
    while (i < text.length) {
      const ch = text[i]!;
      if (ch === '"') {
        i++;
        return;
      }
      if (ch === '\\') {
        const next = text[i + 1];
        if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else if (next !== undefined && ESCAPABLE.has(next)) i += 2;
        else {
          i++;
          fail();
        }
      } else if (ch.charCodeAt(0) < 0x20) fail();
      else i++;
    }
    fail();
  };
  const members = (close: string, member: () => void) => {
    i++; // opening bracket
    ws();
    if (text[i] === close) {
      i++;
      return;
    }
    for (;;) {
      member();
      ws();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === close) {
        i++;
        return;
      }
      fail();
    }
  };
  const value = (): void => {
    ws();
    const ch = text[i];
    if (ch === '{') {
      return members('}', () => {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
      });
    }
    if (ch === '[') return members(']', value);
    if (ch === '"') return string();
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return;
      }
    }
    NUMBER.lastIndex = i;
    if (NUMBER.exec(text)) {
      i = NUMBER.lastIndex;
      return;
    }
    fail();
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
  } catch (error) {
    if (error instanceof JsonStop) return Math.min(error.offset, text.length);
    throw error;
  }
  return text.length;
}

class JsonStop {
  constructor(readonly offset: number) {}
}
