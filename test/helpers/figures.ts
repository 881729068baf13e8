import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Where tests leave the figures they measure (gitignored). */
export const FIGURES_DIR = path.resolve(__dirname, '..', '..', 'test-artifacts');

/**
 * Keeps a test's measured figures (event-loop stalls, memory) for the record in test-artifacts/<name>.txt instead
 * of printing them: console.log in a test is a block of jest noise in every `npm test`, read by nobody.
 */
export function recordFigures(name: string, text: string): void {
  mkdirSync(FIGURES_DIR, { recursive: true });
  writeFileSync(path.join(FIGURES_DIR, `${name}.txt`), `${text}\n`);
}
