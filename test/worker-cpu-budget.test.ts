/**
 * The delivery worker under a CPU limit's budget (cpu-budget.ts): while the process is over its share it claims
 * nothing, however often it is woken; after each wait it runs one pass whatever the share says, so deliveries keep
 * moving while webhooks hold the process at its limit. The budget here always says "over", as during such a burst.
 */
import { PassThrough } from 'node:stream';
import { DeliveryWorker } from '../src/delivery/worker';
import { Pacer } from '../src/delivery/pacer';
import type { StoreEngine } from '../src/delivery/store-contract';
import type { CpuBudget } from '../src/delivery/cpu-budget';
import { ConsoleDestination } from '../src/destinations/console';
import { TemplateEngine } from '../src/templates/engine';
import { silentLogger } from '../src/observability/logger';
import { parsedAlert } from './helpers/fixtures';
import { accept, ENGINES } from './helpers/store-engines';
import { eventually } from './helpers/replicas';

describe('delivery worker under a CPU budget', () => {
  it('claims only after each wait the budget asks for, whatever wakes it, and still delivers everything', async () => {
    const opened = await ENGINES.find(([name]) => name === 'sqlite')![1]();
    const real = opened.engine;
    const events: { what: 'claim' | 'wait'; at: number }[] = [];
    const engine: StoreEngine = Object.create(real, {
      claim: {
        value: (...args: Parameters<StoreEngine['claim']>) => {
          events.push({ what: 'claim', at: performance.now() });
          return real.claim(...args);
        },
      },
    }) as StoreEngine;
    const budget = {
      waitMs: () => {
        events.push({ what: 'wait', at: performance.now() });
        return 30;
      },
    } as unknown as CpuBudget;
    const out = new PassThrough();
    const lines: string[] = [];
    out.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
    const destination = new ConsoleDestination('console', {}, new TemplateEngine(undefined), out);
    const worker = new DeliveryWorker(
      engine,
      new Pacer(),
      new Map([['console', destination]]),
      { concurrency: 2, maxAgeMs: 86_400_000, leaseMs: 60_000, backoff: { initialMs: 50, maxMs: 200, factor: 2 }, idlePollMs: 60_000 },
      silentLogger(),
      [],
      budget,
    );
    // Accepts announced all along, as during a burst of webhooks: none of them may start a pass early.
    const waker = setInterval(() => worker.notify(), 2);
    try {
      for (let i = 0; i < 5; i++) await accept(real, parsedAlert({ alertId: `b${i}` }), [{ route: 'r', destination: 'console' }]);
      worker.start();
      await eventually(() => lines.length === 5, 10_000, 'all five alerts delivered while the budget says "over"');
    } finally {
      clearInterval(waker);
      await worker.stop();
      await opened.close();
    }
    // Every claim comes after a wait the budget asked for, and no sooner than it asked (a timer never fires early;
    // the 2 ms wake-ups above would have let it claim at once), never two claims for one wait.
    const claims = events.flatMap((event, i) => (event.what === 'claim' ? [i] : []));
    expect(claims.length).toBeGreaterThanOrEqual(5);
    for (const i of claims) {
      expect(events[i - 1]!.what).toBe('wait');
      expect(events[i]!.at - events[i - 1]!.at).toBeGreaterThanOrEqual(29);
    }
  });
});
