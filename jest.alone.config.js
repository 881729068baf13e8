/**
 * `npm run test:alone`: tests that measure the bridge itself (event-loop blocks, peak RSS against a bound an issue
 * sets) and so must not share the machine's two cores with other test files. They run one at a time, after
 * `npm test` (.ci/run). Kept out of `npm test` by their name (`*.alone.ts`, not `*.test.ts`).
 */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.alone.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  maxWorkers: 1,
  testTimeout: 300000,
};
