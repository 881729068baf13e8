/**
 * `npm run test:interop`: the bridge against real third-party senders (Debian's prometheus-alertmanager). Kept out
 * of `npm test` (jest.config.js only looks in test/): it needs the binary, apt-get to install it, and a minute.
 */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/interop'],
  testMatch: ['**/*.interop.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  maxWorkers: 1,
  testTimeout: 60000,
};
