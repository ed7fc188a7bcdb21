import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    // Probes PostgreSQL, Redis and Chromium once: tests that need a missing one are skipped (and the
    // run says so at the end), or, with APG_REQUIRE_ALL=1 (.ci/run), the run fails.
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default'],
  },
});
