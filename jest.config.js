/** Unit and e2e tests (supertest). Each e2e file gets its own database: see test/support/test-app.ts. */
module.exports = {
  rootDir: '.',
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
  testPathIgnorePatterns: ['<rootDir>/test/browser/'],
  // Type-checking is done once by `npm run typecheck` (ts-jest's isolatedModules mode does not).
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/test/tsconfig.json' }],
    // ES-module-only dependencies of otplib (@scure/base, @noble/hashes 2): compiled to CommonJS for Jest.
    '/node_modules/(@scure/base|@noble/hashes)/.+\\.js$': '<rootDir>/test/support/esm-package-transform.js',
  },
  transformIgnorePatterns: ['^(?!.*/node_modules/(@scure/base|@noble/hashes)/).*/node_modules/'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  maxWorkers: 2,
  // Generous: e2e files start real processes and worker threads on a 2-core machine shared with other jobs.
  testTimeout: 120000,
};
