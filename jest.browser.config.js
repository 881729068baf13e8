/**
 * Browser end-to-end tests of the web console (npm run test:browser; not part of npm test): headless Debian
 * chromium driven by playwright-core against the real bridge and the loopback fakes. Screenshots go to
 * artifacts/screenshots/.
 */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/browser'],
  testMatch: ['**/*.spec.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  maxWorkers: 1,
  testTimeout: 60000,
};
