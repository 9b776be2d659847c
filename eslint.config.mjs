import next from "eslint-config-next";
import nextTypescript from "eslint-config-next/typescript";

const config = [
  ...next,
  ...nextTypescript,
  // Dependencies point one way (app/ → lib/ → db/) and never in a circle.
  {
    files: ["app/**", "lib/**", "db/**", "*.ts"],
    settings: { "import/ignore": ["node_modules"] },
    rules: { "import/no-cycle": ["error", { ignoreExternal: true }] },
  },
  // The database layer knows nothing of the domain.
  {
    files: ["db/**"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ group: ["@/lib/*", "../lib/*"], message: "db/ imports nothing from lib/." }] }],
    },
  },
  // Infrastructure knows no feature: a feature declares its jobs, lib/job-definitions.ts lists them.
  {
    files: ["lib/jobs/**", "lib/mail/**"],
    ignores: ["lib/jobs/**/*.test.ts", "lib/mail/**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              regex: "^(\\.\\./|@/lib/)(recovery|accounts|second-factor|auth|admin|job-definitions)(/|$)",
              message: "lib/jobs/ and lib/mail/ import no feature: declare a job in its feature and list it in lib/job-definitions.ts.",
            },
          ],
        },
      ],
    },
  },
  // Playwright fixtures call a parameter named `use`, which is not React's hook.
  { files: ["e2e/**"], rules: { "react-hooks/rules-of-hooks": "off" } },
  { ignores: [".next/**", ".data/**", "node_modules/**", "test-results/**", "playwright-report/**", "next-env.d.ts"] },
];

export default config;
