/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
    // jose (JWT) ships ES modules only; Node loads them with require() (>= 20.19), Jest's
    // module loader does not, so Jest compiles them to CommonJS.
    '^.+/node_modules/jose/.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs', target: 'ES2022', isolatedModules: true, esModuleInterop: true } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  testTimeout: 60000,
  // One temporary directory per run, removed when the run passes (its comment says why).
  reporters: ['default', '<rootDir>/__tests__/support/tmp-run-reporter.js'],
};
