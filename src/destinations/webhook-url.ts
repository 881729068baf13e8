const WEBHOOK_PATH = /\/api(?:\/v\d+)?\/webhooks\/(\d{15,25})\/([A-Za-z0-9_-]{10,})\/?$/;

/**
 * Extracts id and token from a Discord webhook URL; null when the URL is not a Discord webhook's. Parsed here
 * rather than by WebhookClient so the REST base can point at `discord.apiUrl` (proxies, tests) while the
 * configured URL stays the real one — and in a module of its own, so `doctor` can read a URL without loading
 * discord.js.
 */
export function parseWebhookUrl(url: string): { id: string; token: string } | null {
  try {
    const m = WEBHOOK_PATH.exec(new URL(url).pathname);
    return m ? { id: m[1]!, token: m[2]! } : null;
  } catch {
    return null;
  }
}
