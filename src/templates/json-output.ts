/**
 * Parses what a template produced. Templates build JSON with `{{#each}}` loops, where a trailing comma is the
 * most common slip; commas directly before `]` or `}` (outside strings) are dropped before parsing so users
 * are not punished for it. Anything else that is not valid JSON is an error naming the line.
 */
export function parseTemplateJson(text: string): unknown {
  const cleaned = dropTrailingCommas(text);
  try {
    return JSON.parse(cleaned);
  } catch (error) {
    const message = (error as Error).message;
    const position = /position (\d+)/.exec(message);
    if (position) {
      const line = cleaned.slice(0, Number(position[1])).split('\n').length;
      throw new Error(`template output is not valid JSON (line ${line} of the output): ${message}`);
    }
    throw new Error(`template output is not valid JSON: ${message}`);
  }
}

/**
 * Copies `text` in slices between the dropped commas. Why not `out += ch` per character: alert text reaches this
 * output (a 900 KB title renders to ~2 MB), and a string built one character at a time makes millions of
 * intermediate strings; measured, that stalled the event loop for 300–500 ms per render, mostly in the GC.
 */
function dropTrailingCommas(text: string): string {
  const kept: string[] = [];
  let from = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c /* \ */) i++;
      else if (ch === 0x22 /* " */) inString = false;
      continue;
    }
    if (ch === 0x22) inString = true;
    else if (ch === 0x2c /* , */) {
      let j = i + 1;
      while (j < text.length && /\s/.test(text[j]!)) j++;
      if (text[j] === ']' || text[j] === '}') {
        kept.push(text.slice(from, i));
        from = i + 1;
      }
    }
  }
  kept.push(text.slice(from));
  return kept.join('');
}
