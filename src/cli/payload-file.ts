import { readFileSync } from 'node:fs';

/**
 * A webhook payload read from a file (`render --alert`, `explain --alert`): the parsed body; or a file that cannot
 * be read at all (`unreadable`, said as "cannot read FILE: no such file" — a typo in the path is not a JSON
 * problem); or text that is not JSON (`invalid_json`, reported like the webhook's 400 would report it).
 */
export type PayloadFile =
  | { ok: true; body: unknown }
  | { ok: false; kind: 'unreadable'; message: string }
  | { ok: false; kind: 'invalid_json'; message: string };

const READ_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  EISDIR: 'it is a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
};

/** Reads and parses `file`; never throws. Messages name the file and the reason, never its content. */
export function readPayloadFile(file: string): PayloadFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    return { ok: false, kind: 'unreadable', message: `cannot read ${file}: ${READ_ERRORS[code] ?? (code || 'read error')}` };
  }
  try {
    return { ok: true, body: JSON.parse(text) };
  } catch (error) {
    return { ok: false, kind: 'invalid_json', message: `not valid JSON: ${(error as Error).message}` };
  }
}
