// Three layers (see ARCHITECTURE.md "Tests, in layers"): unit and integration run anywhere;
// interop needs real peers and a private network namespace, so scripts/run-tests.js runs it
// under `unshare -n`.
const tsJest = ['ts-jest', { diagnostics: false }];
const base = { preset: undefined, testEnvironment: 'node', transform: { '^.+\\.ts$': tsJest } };
module.exports = {
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...base, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
    { ...base, displayName: 'interop', testMatch: ['<rootDir>/test/interop/**/*.test.ts'] },
  ],
};
