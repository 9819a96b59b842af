/** The cluster test: a 3-node MariaDB Galera cluster, three app instances and HAProxy on loopback (test/cluster/). */
const base = require('./jest.config');
module.exports = {
  ...base,
  testMatch: ['<rootDir>/test/cluster/**/*.cluster-spec.ts'],
  testPathIgnorePatterns: [],
  maxWorkers: 1,
  testTimeout: 150000,
};
