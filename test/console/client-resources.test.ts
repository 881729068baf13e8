/**
 * Platform clients are built once per config and closed when a reload replaces them; the playground's previews
 * build none (format is pure). Each discord.js REST client starts two sweeper intervals, so a client made per
 * preview keystroke or per reload and never closed would pile up timers for the life of the process.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { makeAlertPayload } from '../helpers/fixtures';
import { trackResources, type ResourceTracker } from '../helpers/live-resources';
import { adminAuth, csrf, startConsoleEnv, type ConsoleEnv } from './console-harness';

jest.setTimeout(120_000);

let env: ConsoleEnv;
let resources: ResourceTracker;
beforeAll(async () => {
  resources = trackResources();
  env = await startConsoleEnv();
});
afterAll(async () => {
  await env?.close();
  resources?.stop();
});

/** One preview over a fresh connection that is closed after the answer, so no keep-alive socket stays behind. */
function previewOnce(payloadText: string, keystroke: number): Promise<number> {
  const body = JSON.stringify({
    payloadText,
    // As the playground sends while someone types: an unsaved template source per platform.
    template: { name: 'draft', sources: { slack: `{ "text": "draft ${keystroke} {{alert.title}}" }`, discord: `{ "content": "draft ${keystroke} {{alert.title}}" }` } },
  });
  return new Promise((resolve, reject) => {
    const req = request(`${env.bridge.url}/console/api/preview`, { method: 'POST', agent: false, headers: { ...adminAuth, ...csrf, connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('platform clients', () => {
  it('1,000 previews and 20 reloads leave the live handles and timers where they started', async () => {
    const payloadText = JSON.stringify(makeAlertPayload());
    // Warm up: lazily created module state (caches, the DNS channel, prepared statements) is not a leak.
    for (let i = 0; i < 5; i++) expect(await previewOnce(payloadText, i)).toBe(200);
    env.bridge.reload({ ...env.config });
    const before = await resources.settled();

    const statuses: number[] = [];
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 50; i++) statuses.push(await previewOnce(payloadText, round * 50 + i));
      // A reload as SIGHUP does it: a new config object, new destinations and clients.
      env.bridge.reload({ ...env.config });
    }
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(statuses).toHaveLength(1000);

    const after = await resources.settled();
    expect(after).toEqual(before);
  });

  it('20 reloads refused for a broken template leave no clients behind', async () => {
    const broken = mkdtempSync(path.join(os.tmpdir(), 'cb-broken-'));
    writeFileSync(path.join(broken, 'default.slack.hbs'), '{ "text": "{{#if alert.title}}" }');
    const before = await resources.settled();
    for (let i = 0; i < 20; i++) {
      expect(() => env.bridge.reload({ ...env.config, templates: { ...env.config.templates, dir: broken } })).toThrow(/template errors/);
    }
    expect(await resources.settled()).toEqual(before);
  });
});
