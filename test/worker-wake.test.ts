/**
 * The delivery worker does not lose a wake-up that lands while a pass runs (announcements from other processes
 * arrive at any moment, not only while it sleeps): the pass may have read the queue before the new work was
 * committed, so the worker looks again at once instead of sleeping its idle poll. The poll is set to a minute here,
 * so a lost wake-up shows as a delivery that never comes within the test's wait.
 */
import { PassThrough } from 'node:stream';
import { DeliveryWorker } from '../src/delivery/worker';
import { Pacer } from '../src/delivery/pacer';
import type { StoreEngine } from '../src/delivery/store-contract';
import { ConsoleDestination } from '../src/destinations/console';
import { TemplateEngine } from '../src/templates/engine';
import { silentLogger } from '../src/observability/logger';
import { parsedAlert } from './helpers/fixtures';
import { accept, ENGINES } from './helpers/store-engines';
import { eventually } from './helpers/replicas';

describe('delivery worker wake-ups', () => {
  it('a notify() during a pass, after it read the queue, makes another pass at once (not after the idle poll)', async () => {
    const opened = await ENGINES.find(([name]) => name === 'sqlite')![1]();
    const real = opened.engine;
    // The pass's last read of the queue (when the next work is due) answers, then waits here until released.
    let held: { release: () => void; reached: Promise<void> } | undefined;
    const hold = () => {
      let reachedResolve!: () => void;
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const reached = new Promise<void>((r) => (reachedResolve = r));
      held = { release, reached };
      return { gate, reachedResolve };
    };
    let pending: ReturnType<typeof hold> | undefined;
    const engine: StoreEngine = Object.create(real, {
      nextDueByDestination: {
        value: async (now: number) => {
          const answer = await real.nextDueByDestination(now);
          const gate = pending;
          pending = undefined;
          if (gate) {
            gate.reachedResolve();
            await gate.gate;
          }
          return answer;
        },
      },
    }) as StoreEngine;
    const out = new PassThrough();
    const lines: string[] = [];
    out.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
    const destination = new ConsoleDestination('console', {}, new TemplateEngine(undefined), out);
    const worker = new DeliveryWorker(engine, new Pacer(), new Map([['console', destination]]), { concurrency: 2, maxAgeMs: 86_400_000, leaseMs: 60_000, backoff: { initialMs: 50, maxMs: 200, factor: 2 }, idlePollMs: 60_000 }, silentLogger());
    try {
      worker.start();
      // A first alert delivered; then the worker's next pass is held right after it found the queue empty.
      await accept(real, parsedAlert({ alertId: 'w1' }), [{ route: 'r', destination: 'console' }]);
      pending = hold();
      worker.notify();
      await eventually(() => lines.length === 1, 5000, 'the first alert delivered');
      await held!.reached;
      // New work committed and announced while the pass is past its read: the pass will report nothing due.
      await accept(real, parsedAlert({ alertId: 'w2' }), [{ route: 'r', destination: 'console' }]);
      worker.notify();
      held!.release();
      await eventually(() => lines.length === 2, 5000, 'the second alert delivered without waiting for the one-minute poll');
    } finally {
      held?.release();
      await worker.stop();
      await opened.close();
    }
  });
});
