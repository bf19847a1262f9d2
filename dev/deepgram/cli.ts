/**
 * `node dev/deepgram/cli.ts [--port 8791 --host localhost]`: runs the local Deepgram stand-in (see server.ts) until
 * Ctrl-C / SIGTERM. Point the agent at it with `DEEPGRAM_BASE_URL=http://localhost:8791` and
 * `DEEPGRAM_API_KEY=dg-local-stand-in` (the one key it accepts). `npm run dev` starts it when `STT_PROVIDER` or
 * `TTS_PROVIDER` (or a profile) asks for Deepgram and no `DEEPGRAM_API_KEY` is set.
 */
import { parseArgs } from "node:util";
import { DEEPGRAM_DEV_PORT, startDevDeepgram } from "./server.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: String(DEEPGRAM_DEV_PORT) },
    host: { type: "string", default: "localhost" },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a port number, got ${values.port}`);
  process.exit(2);
}

try {
  const provider = await startDevDeepgram({ host: values.host, port });
  const stop = () => void provider.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
} catch (err) {
  console.error(`deepgram-dev: cannot start on ${values.host}:${port}: ${(err as Error).message}`);
  process.exit(1);
}
