import { defineConfig } from "vitest/config";

/** Files that start and kill processes, engines and databases: after the other projects, one at a time. */
const faults = {
  sequence: { groupOrder: 2 },
  globalSetup: ["test/setup/global.ts"],
  testTimeout: 300_000,
  hookTimeout: 180_000,
  fileParallelism: false,
};

export default defineConfig({
  test: {
    projects: [
      { test: { name: "unit", include: ["test/unit/**/*.test.ts"], sequence: { groupOrder: 0 } } },
      {
        test: {
          name: "integration",
          // Runs after the unit project (vitest needs distinct groups when maxWorkers differ).
          sequence: { groupOrder: 1 },
          include: ["test/smoke/**/*.test.ts", "test/integration/**/*.test.ts", "test/e2e/**/*.test.ts"],
          globalSetup: ["test/setup/global.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Two cores: files share one engine; a few at a time keep timings honest.
          maxWorkers: 2,
        },
      },
      // Every fault file: `npm run test:faults` (about 14 minutes).
      { test: { name: "faults", include: ["test/faults/**/*.test.ts"], ...faults } },
      // The fault files npm test (and so CI) runs, about 3 minutes: npm run dev restarted as a
      // user does it, and every repair nobody has to ask for, in both delivery modes, with the
      // relay's release of a run an engine restart lost.
      {
        test: {
          name: "faults-ci",
          include: [
            "test/faults/restart.test.ts",
            "test/faults/self-healing.*.test.ts",
            "test/faults/lost-assignment.*.test.ts",
          ],
          ...faults,
        },
      },
    ],
  },
});
