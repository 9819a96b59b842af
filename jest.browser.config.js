/** Browser tests: playwright-core driving Debian's Chromium (/usr/bin/chromium). */
const base = require('./jest.config');
module.exports = {
  ...base,
  testMatch: ['<rootDir>/test/browser/**/*.browser-spec.ts'],
  testPathIgnorePatterns: [],
  maxWorkers: 1,
  testTimeout: 120000,
};
