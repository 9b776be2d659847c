import path from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    alias: {
      "@": path.resolve(__dirname),
      // "server-only" throws outside React's server build; tests are server code anyway.
      "server-only": path.resolve(__dirname, "test-support/server-only.ts"),
    },
  },
  test: {
    include: ["lib/**/*.test.ts", "db/**/*.test.ts", "emails/**/*.test.tsx", "app/**/*.test.ts"],
    environment: "node",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each file opens its own databases; two at a time suits a 2-core machine.
    maxWorkers: 2,
    env: {
      NODE_ENV: "test",
      LOG_LEVEL: "silent",
      AUTH_SECRET: "test-secret-test-secret-test-secret-0123",
      APP_URL: "http://rekey.test",
      DATA_DIR: ".data/test",
    },
  },
});
