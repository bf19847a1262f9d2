/**
 * `node dev/host/cli.ts --worker http://localhost:8787 [--port 8790 --host 127.0.0.1]`: serves the widget's sample
 * host page (server.ts) until Ctrl-C / SIGTERM. `npm run dev` starts it and allows its origin (`ALLOWED_ORIGINS`).
 */
import { parseArgs } from "node:util";
import { DEV_PORTS } from "../../contract/defaults.ts";
import { startHostServer } from "./server.ts";

const { values } = parseArgs({
  options: {
    worker: { type: "string" },
    port: { type: "string", default: String(DEV_PORTS.host) },
    host: { type: "string", default: "127.0.0.1" },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a port number, got ${values.port}`);
  process.exit(2);
}
if (!values.worker || !URL.canParse(values.worker)) {
  console.error("--worker must be the Worker's URL, e.g. http://localhost:8787");
  process.exit(2);
}

try {
  const server = await startHostServer({ workerUrl: values.worker, host: values.host, port });
  const stop = () => void server.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
} catch (err) {
  console.error(`host-dev: cannot listen on ${values.host}:${port}: ${(err as Error).message}`);
  process.exit(1);
}
