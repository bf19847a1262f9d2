/** Bindings only the workerd tests have (vitest.config.ts). */
declare namespace Cloudflare {
  interface Env {
    /** The D1 migrations of migrations/, as `readD1Migrations` read them (apply-migrations.ts). */
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
  }
}
