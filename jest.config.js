/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  // Tests start loopback servers and child processes; two workers fit the 2-core machines.
  maxWorkers: 2,
  testTimeout: 20000,
};
