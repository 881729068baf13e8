// The token as the config's URL pattern takes it (DISCORD_WEBHOOK_URL_PATTERN, schema-primitives.ts): narrower here,
// a URL `check` and a reload accept would be one the delivery side cannot build (the delivery thread then rejected
// the reload the main thread had applied, and what was routed to the webhook was dead-lettered). A wrong token is
// Discord's to refuse (401/404: doctor and send-test say so).
const WEBHOOK_PATH = /\/api(?:\/v\d+)?\/webhooks\/(\d{15,25})\/([A-Za-z0-9._-]+)\/?$/;

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
