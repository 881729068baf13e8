/**
 * Which heap settings the bridge sets from inside the process (heap-settings.ts): those node's command line and
 * NODE_OPTIONS leave unset, in whatever spelling node and V8 accept there.
 */
import { spawnSync } from 'node:child_process';
import { heapFlagsToSet, heapSettingsSource } from '../src/heap-settings';

const BOTH = ['--heap-growing-percent=50', '--semi-space-growth-factor=1'];
const none = { nodeOptions: undefined };

describe('heapFlagsToSet', () => {
  it('sets both when node was started without any (node dist/main.js serve)', () => {
    expect(heapFlagsToSet({ execArgv: [], ...none })).toEqual(BOTH);
  });

  it("sets none under npm start's and the image's flags", () => {
    expect(heapFlagsToSet({ execArgv: ['--max-semi-space-size=2', '--heap-growing-percent=50'], ...none })).toEqual([]);
  });

  it('leaves the young generation alone when a semi-space size or growth factor was given, so it can be reached', () => {
    expect(heapFlagsToSet({ execArgv: ['--max_semi_space_size=16'], ...none })).toEqual(['--heap-growing-percent=50']);
    expect(heapFlagsToSet({ execArgv: ['--min-semi-space-size=4'], ...none })).toEqual(['--heap-growing-percent=50']);
    expect(heapFlagsToSet({ execArgv: ['--semi-space-growth-factor=2', '--heap_growing_percent=100'], ...none })).toEqual([]);
  });

  it('reads a semi-space size from NODE_OPTIONS, quoted or with one dash, as node and V8 take it', () => {
    expect(heapFlagsToSet({ execArgv: [], nodeOptions: '  --max-semi-space-size=8 --enable-source-maps' })).toEqual(['--heap-growing-percent=50']);
    expect(heapFlagsToSet({ execArgv: [], nodeOptions: '"--max-semi-space-size=8"' })).toEqual(['--heap-growing-percent=50']);
    expect(heapFlagsToSet({ execArgv: ['-max-semi-space-size=8'], ...none })).toEqual(['--heap-growing-percent=50']);
  });

  it('is not fooled by other options or values that merely contain a name', () => {
    expect(heapFlagsToSet({ execArgv: ['--title=max-semi-space-size', '-r', 'heap-growing-percent'], nodeOptions: '' })).toEqual(BOTH);
  });

  it('node refuses the growth factor and the growing percent in NODE_OPTIONS, so only its command line gives them', () => {
    for (const option of ['--semi-space-growth-factor=2', '--heap-growing-percent=50']) {
      const run = spawnSync(process.execPath, ['-e', '0'], { env: { ...process.env, NODE_OPTIONS: option }, encoding: 'utf8' });
      expect([option, run.status, run.stderr]).toEqual([option, 9, expect.stringContaining('is not allowed in NODE_OPTIONS')]);
    }
  });
});

describe('heapSettingsSource', () => {
  it('is statements that set the growth factor (and the growing percent) in a worker run from source, and nothing when node was given both', () => {
    const source = heapSettingsSource({ execArgv: [], ...none });
    expect(source).toContain("require('node:v8').setFlagsFromString('--semi-space-growth-factor=1');");
    const calls: string[][] = [];
    new Function('require', source)((name: string) => ({ setFlagsFromString: (flag: string) => calls.push([name, flag]) }));
    expect(calls).toEqual([
      ['node:v8', '--heap-growing-percent=50'],
      ['node:v8', '--semi-space-growth-factor=1'],
    ]);
    expect(heapSettingsSource({ execArgv: ['--max-semi-space-size=2', '--heap-growing-percent=50'], ...none })).toBe('');
  });
});
