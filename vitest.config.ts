import { defineConfig } from "vitest/config";

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
      {
        test: {
          name: "faults",
          // After the other projects: these files start and kill processes, engines and databases.
          sequence: { groupOrder: 2 },
          include: ["test/faults/**/*.test.ts"],
          globalSetup: ["test/setup/global.ts"],
          testTimeout: 300_000,
          hookTimeout: 180_000,
          // One file at a time: each one throws faults at the machine.
          fileParallelism: false,
        },
      },
    ],
  },
});
