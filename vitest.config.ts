import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{edge,cloud,shared,simulators,test}/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // PGlite instances and brokers are heavy; two cores do better with few parallel files.
    maxWorkers: 2,
  },
});
