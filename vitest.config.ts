import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // The CLI the tests' child processes run, built once (test/support/cliBuild.ts).
    globalSetup: ['test/support/cliBuild.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration suites start servers and databases; two cores, so keep workers modest.
    maxWorkers: 2,
    // expect.poll waits 1 s by default: too little for a browser round trip to the server and PGlite on a loaded
    // CI machine. A poll that passes returns as soon as it does.
    expect: { poll: { timeout: 10_000 } },
  },
});
