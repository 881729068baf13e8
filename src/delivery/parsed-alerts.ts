import type { Alert } from '../domain/alert';

/** Bounds of {@link ParsedAlerts}: alerts kept, and the stored JSON they stand for (hostile alerts reach 1 MB). */
const MAX_ENTRIES = 256;
const MAX_BYTES = 4 * 1024 * 1024;
const MAX_ONE = 256 * 1024;

/**
 * The alerts of recent claims, parsed once: each of an alert's deliveries (one per destination) and each retry is
 * claimed on its own, and every claim read the stored JSON back into a new object. Keyed by alert row and checked
 * against the stored text (an alert row's JSON changes when its source resolves it), so a hit is always the parse
 * of exactly that text. Nothing downstream mutates an Alert, so sharing the object is safe; sharing it also lets
 * the render cache (render-message.ts) see the same alert. Bounded in entries and in JSON size, oldest out first.
 */
export class ParsedAlerts {
  private readonly entries = new Map<number, { json: string; alert: Alert }>();
  private bytes = 0;

  /** The alert `json` (stored for `row`) parses to. */
  get(row: number, json: string): Alert {
    const known = this.entries.get(row);
    if (known && known.json === json) return known.alert;
    const alert = JSON.parse(json) as Alert;
    if (known) this.drop(row, known.json);
    if (json.length <= MAX_ONE) {
      this.entries.set(row, { json, alert });
      this.bytes += json.length;
      for (const [oldest, entry] of this.entries) {
        if (this.entries.size <= MAX_ENTRIES && this.bytes <= MAX_BYTES) break;
        this.drop(oldest, entry.json);
      }
    }
    return alert;
  }

  private drop(row: number, json: string): void {
    this.entries.delete(row);
    this.bytes -= json.length;
  }
}
