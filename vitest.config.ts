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
    ],
  },
});
