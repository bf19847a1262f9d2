/**
 * Setup of every workerd test file: the curriculum's D1 migrations (migrations/, read in Node by vitest.config.ts
 * with `readD1Migrations`) applied to the test's real local D1 database, as `wrangler d1 migrations apply` does.
 * Applied migrations are recorded (`d1_migrations`), so running it per file is idempotent.
 */
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

await applyD1Migrations(env.CURRICULUM, env.TEST_MIGRATIONS);
