/**
 * `npm run openai:dev [-- --port 8788 --host localhost]`: runs the local OpenAI-compatible stand-in
 * (see server.ts) until Ctrl-C / SIGTERM. Point the agent at it with
 * `OPENAI_BASE_URL=http://localhost:8788/v1` and any `OPENAI_API_KEY`.
 *
 * `OPENAI_STAND_IN_MODE=instant` starts it in instant mode (instant.ts: known recordings by fingerprint, a buzz
 * for speech), for benchmarks; unset, empty or `engines`: pocketsphinx and espeak-ng. Another value exits with 2.
 */
import { parseArgs } from "node:util";
import { DEV_PORTS } from "../../contract/defaults.ts";
import { parseStandInMode, type StandInMode } from "./instant.ts";
import { startDevOpenAI } from "./server.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: String(DEV_PORTS.openai) },
    host: { type: "string", default: "localhost" },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a port number, got ${values.port}`);
  process.exit(2);
}
let mode: StandInMode;
try {
  mode = parseStandInMode(process.env.OPENAI_STAND_IN_MODE);
} catch (err) {
  console.error(`openai-dev: ${(err as Error).message}`);
  process.exit(2);
}

try {
  const provider = await startDevOpenAI({ host: values.host, port, instant: mode === "instant" || undefined });
  const stop = () => void provider.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
} catch (err) {
  // A listen error (EADDRINUSE …) or, in instant mode, a missing recording of the catalog.
  console.error(`openai-dev: cannot start on ${values.host}:${port}: ${(err as Error).message}`);
  process.exit(1);
}
