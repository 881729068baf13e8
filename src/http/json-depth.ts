/**
 * Depth of the deepest nesting in a parsed JSON value, computed without recursion so hostile nesting cannot
 * overflow the stack. Stops counting at `limit + 1`.
 */
export function jsonDepthExceeds(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth + 1 > limit) return true;
    for (const child of Object.values(node as object)) stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * {@link jsonDepthExceeds} judged from the bytes of JSON text, before parsing (brackets inside strings do not count;
 * the text is not otherwise validated). For any text JSON.parse accepts, the verdict is the same. Why before:
 * JSON.parse of 500,000 nested `[` (1 MB) took ~100 ms and built as many arrays only for them to be refused, and
 * walking a parsed 20,000-element value took tens of ms more (test/hostile.test.ts). UTF-8 multi-byte sequences
 * contain no ASCII bytes (and decoding invalid ones never swallows one), so scanning bytes is exact.
 */
export function jsonTextDepthExceeds(text: Uint8Array, limit: number): boolean {
  const bytes = Buffer.from(text.buffer, text.byteOffset, text.byteLength);
  let depth = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte === 0x22 /* " */) {
      // Jump to the closing quote: the first one not escaped by an odd run of backslashes (native search, since
      // strings are most of a large body).
      for (;;) {
        const close = bytes.indexOf(0x22, i + 1);
        if (close < 0) return false;
        let backslashes = 0;
        while (bytes[close - 1 - backslashes] === 0x5c /* \ */) backslashes++;
        i = close;
        if (backslashes % 2 === 0) break;
      }
    } else if (byte === 0x5b /* [ */ || byte === 0x7b /* { */) {
      if (++depth > limit) return true;
    } else if (byte === 0x5d /* ] */ || byte === 0x7d /* } */) depth--;
  }
  return false;
}
