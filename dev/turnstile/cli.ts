/**
 * `node dev/turnstile/cli.ts [--port 8789 --host 127.0.0.1]`: runs the local Turnstile stand-in (see
 * server.ts) until Ctrl-C / SIGTERM. `npm run dev -- --turnstile` starts it and points the Worker at it
 * (`TURNSTILE_ORIGIN`, with the stand-in's keys).
 */
import { parseArgs } from "node:util";
import { DEV_PORTS } from "../../contract/defaults.ts";
import { startTurnstileStandIn } from "./server.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: String(DEV_PORTS.turnstile) },
    host: { type: "string", default: "127.0.0.1" },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a port number, got ${values.port}`);
  process.exit(2);
}

try {
  const standIn = await startTurnstileStandIn({ host: values.host, port });
  const stop = () => void standIn.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
} catch (err) {
  console.error(`turnstile-dev: cannot listen on ${values.host}:${port}: ${(err as Error).message}`);
  process.exit(1);
}
