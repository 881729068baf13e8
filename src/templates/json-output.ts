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

function dropTrailingCommas(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inString) {
      out += ch;
      if (ch === '\\') {
        out += text[i + 1] ?? '';
        i++;
      } else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    if (ch === ',') {
      let j = i + 1;
      while (j < text.length && /\s/.test(text[j]!)) j++;
      if (text[j] === ']' || text[j] === '}') continue;
    }
    out += ch;
  }
  return out;
}
