import v8 from 'node:v8';

/**
 * The V8 heap settings the bridge is measured and documented with. `npm start` and the image pass them on node's
 * command line (`--max-semi-space-size=2 --heap-growing-percent=50`); a bridge started otherwise
 * (`node dist/main.js serve` from a unit file or a Dockerfile of one's own) ran without them, at 231 MB of peak RSS
 * in the throughput bench against about 146 (issue 17). It now sets equivalent ones itself:
 *
 * - `--semi-space-growth-factor=1`: each young generation stays at its first size (1 MB per semi-space) instead of
 *   growing to 16 MB under load, the growth that was most of the difference. The size itself
 *   (`--max-semi-space-size`) is read only when a heap is made, too late for the main thread's; the growth factor
 *   is read at each scavenge.
 * - `--heap-growing-percent=50`: the old generation grows by half, not by up to four times, between full
 *   collections (read at each collection).
 *
 * Best effort where the command line does not cap the young generation: V8 puts the growth factor back to at least
 * 2 whenever it makes a heap, a worker thread's too, and the factor is the process's. So every thread applies the
 * settings first thing ({@link applyHeapSettings}, or {@link heapSettingsSource} in a worker run from source); while
 * a worker starts (a crashed delivery thread started again under load, say) the young generations may still grow a
 * step, which V8 gives back once the process is idle.
 *
 * A setting node was given is kept: a `--max-semi-space-size` (command line or NODE_OPTIONS) also keeps the growth
 * factor as V8 has it, so the size asked for can be reached; node accepts the growth factor and the growing percent
 * on its command line only.
 */
export interface HeapFlagSources {
  /** node's own options (`process.execArgv`; a worker thread has its parent's). */
  execArgv: readonly string[];
  /** `NODE_OPTIONS`, which node reads as more of them. */
  nodeOptions: string | undefined;
}

const OWN_SOURCES = (): HeapFlagSources => ({ execArgv: process.execArgv, nodeOptions: process.env.NODE_OPTIONS });

/** The flags to set, as `--name=value`: those of the settings above that `sources` leave unset. */
export function heapFlagsToSet(sources: HeapFlagSources): string[] {
  const given = new Set(
    [...sources.execArgv, ...(sources.nodeOptions ?? '').split(/\s+/)]
      // NODE_OPTIONS may quote an option ("--max-semi-space-size=8"), and V8 takes `-name` for `--name`.
      .map((arg) => arg.replace(/^["']|["']$/g, ''))
      .filter((arg) => /^--?[a-z]/i.test(arg))
      // V8 reads `--max_semi_space_size` and `--max-semi-space-size` alike.
      .map((arg) => arg.replace(/^--?/, '').split('=')[0]!.replace(/_/g, '-')),
  );
  const flags: string[] = [];
  if (!given.has('heap-growing-percent')) flags.push('--heap-growing-percent=50');
  if (!given.has('max-semi-space-size') && !given.has('min-semi-space-size') && !given.has('semi-space-growth-factor')) flags.push('--semi-space-growth-factor=1');
  return flags;
}

/**
 * Sets {@link heapFlagsToSet}'s flags in this process. Call it first thing in every thread (a worker has its
 * parent's options): before the heaps grow, and again once each worker thread's heap is made.
 */
export function applyHeapSettings(sources: HeapFlagSources = OWN_SOURCES()): void {
  for (const flag of heapFlagsToSet(sources)) v8.setFlagsFromString(flag);
}

/**
 * {@link applyHeapSettings} as a statement for the source of a worker run with `eval: true`, which cannot import
 * this module (under ts-jest it is TypeScript); empty when there is nothing to set.
 */
export function heapSettingsSource(sources: HeapFlagSources = OWN_SOURCES()): string {
  return heapFlagsToSet(sources).map((flag) => `require('node:v8').setFlagsFromString('${flag}');`).join('');
}
