/**
 * Which heap settings `serve` sets from inside the process (heap-settings.ts): those node's command line and
 * NODE_OPTIONS leave unset, whatever spelling V8 accepts there.
 */
import { heapFlagsToSet } from '../src/heap-settings';

const BOTH = ['--heap-growing-percent=50', '--semi-space-growth-factor=1'];

describe('heapFlagsToSet', () => {
  it('sets both when node was started without any (node dist/main.js serve)', () => {
    expect(heapFlagsToSet({ execArgv: [], nodeOptions: undefined })).toEqual(BOTH);
  });

  it('leaves the young generation alone when a semi-space size was given, so that size can be reached', () => {
    expect(heapFlagsToSet({ execArgv: ['--max-semi-space-size=2', '--heap-growing-percent=50'], nodeOptions: undefined })).toEqual([]);
    expect(heapFlagsToSet({ execArgv: ['--max_semi_space_size=16'], nodeOptions: undefined })).toEqual(['--heap-growing-percent=50']);
  });

  it('reads NODE_OPTIONS as node does, and a growth factor or growing percent given there is kept', () => {
    expect(heapFlagsToSet({ execArgv: [], nodeOptions: '  --semi-space-growth-factor=2 --enable-source-maps' })).toEqual(['--heap-growing-percent=50']);
    expect(heapFlagsToSet({ execArgv: ['--enable-source-maps'], nodeOptions: '--heap_growing_percent=100' })).toEqual(['--semi-space-growth-factor=1']);
  });

  it('is not fooled by other options or values that merely contain a name', () => {
    expect(heapFlagsToSet({ execArgv: ['--title=max-semi-space-size', '-r', 'heap-growing-percent'], nodeOptions: '' })).toEqual(BOTH);
  });
});
