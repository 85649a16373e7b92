import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Child processes, node:sqlite and process.exitCode (the CLI in-process) want a process per file.
    pool: 'forks',
    // Two files at a time on the 2-core machines CI and developers have (vitest's default, cores - 1,
    // would run one): most of the suite's time is spent waiting (the simulator's latency, child
    // processes, PostgreSQL, Tryton, Prism, pg-boss heartbeats), not computing. VITEST_MAX_WORKERS
    // overrides it.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
