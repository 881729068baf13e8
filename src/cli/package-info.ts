import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The version in package.json, read at run time: dist/cli/ sits two levels below it in a clone, in the npm package
 * and in the Docker image (which copies package.json next to dist/), so `--version` can never disagree with it.
 */
export function packageVersion(): string {
  const file = path.join(__dirname, '..', '..', 'package.json');
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
