import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/schema';
import { buildDestinations, closePlatformClients } from '../destinations/registry';
import { deliveryKey } from '../domain/delivery';
import { parsePantherPayload } from '../sources/panther';
import { routeAlert } from '../routing/router';
import { sendFix } from './fix-hints';

const TEST_ALERT = path.resolve(__dirname, '..', '..', 'examples', 'alerts', 'send-test-alert.json');

export interface SendTestResult {
  destination: string;
  outcome: string;
  reason?: string;
  /** What to do about a failure (the same hints `doctor` gives). */
  fix?: string;
  ref?: Record<string, string>;
}

/**
 * Sends Panther's own test alert (with a fresh createdAt) through each destination's real format and send —
 * every configured destination, or only `only` — and reports each outcome. Not recorded in the outbox.
 */
export async function sendTest(config: Config, only?: string): Promise<SendTestResult[]> {
  const payload = { ...JSON.parse(readFileSync(TEST_ALERT, 'utf8')), createdAt: new Date().toISOString() };
  const parsed = parsePantherPayload(payload);
  if (!parsed.ok) throw new Error('the shipped test alert does not validate');
  const { destinations, clients } = buildDestinations(config);
  const names = only !== undefined ? [only] : Object.keys(config.destinations);
  const routes = new Map(routeAlert(parsed.alert, config.routes).map((t) => [t.destination, t.route]));
  const results: SendTestResult[] = [];
  for (const name of names) {
    const destination = destinations.get(name);
    if (!destination) {
      results.push({ destination: name, outcome: 'unknown_destination', reason: `configured: ${[...destinations.keys()].join(', ')}`, fix: '--destination takes one of the names under destinations: in the config' });
      continue;
    }
    const route = routes.get(name);
    const defang = config.routes.find((r) => r.name === route)?.defang ?? true;
    const formatted = destination.format(parsed.alert, { route: route ?? 'send-test', deliveryKey: deliveryKey(parsed.alert.dedupKey, name), ...(defang ? {} : { defang: false }) });
    const outcome = await destination.send(formatted.body);
    const fix = outcome.kind === 'ok' ? undefined : sendFix(config.destinations[name]!.type, outcome.reason);
    results.push(
      outcome.kind === 'ok'
        ? { destination: name, outcome: 'delivered', ref: outcome.ref }
        : { destination: name, outcome: outcome.kind, reason: outcome.reason, ...(fix ? { fix } : {}) },
    );
  }
  closePlatformClients(clients);
  return results;
}
