// ESM TypeScript through ts-jest; type checking is `npm run typecheck`, so tests only transpile.
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, diagnostics: false }],
  },
  moduleNameMapper: {
    '^@veloz/shared/(.*)$': '<rootDir>/packages/shared/src/$1',
    '^@veloz/sandbox$': '<rootDir>/packages/sandbox/src/index.ts',
    '^@veloz/sandbox/(.*)$': '<rootDir>/packages/sandbox/src/$1',
    '^@veloz/harness$': '<rootDir>/packages/harness/src/index.ts',
    '^@veloz/harness/(.*)$': '<rootDir>/packages/harness/src/$1',
  },
  testMatch: ['<rootDir>/__tests__/**/*.test.ts'],
  globalSetup: '<rootDir>/scripts/jest-global-setup.js',
  // `npm test -- --coverage`: scripts/test.js adds the bundles' coverage to this and prints both together.
  coverageProvider: 'v8',
  collectCoverageFrom: [
    '<rootDir>/actions/**/*.ts',
    '<rootDir>/cli/src/**/*.ts',
    '<rootDir>/packages/shared/src/**/*.ts',
  ],
  coverageReporters: ['json'],
  coverageDirectory: '<rootDir>/coverage',
  testTimeout: 120000,
  // Most suites wait on real servers, leases and deadlines rather than compute: three workers on two cores
  // took the full run from about 800 s to 460 s here, all green.
  maxWorkers: 3,
};
