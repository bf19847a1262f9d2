/**
 * `npm run livekit:dev [-- --port 7880 --host 127.0.0.1 --media-address 10.77.0.1 --webhook <url>…
 * --empty-timeout 300 --departure-timeout 20]`:
 * runs the development LiveKit server until Ctrl-C. Keys default to `devkey` / `secret`
 * (override with LIVEKIT_API_KEY / LIVEKIT_API_SECRET).
 */
import { parseArgs } from "node:util";
import { DEV_PORTS } from "../../contract/defaults.ts";
import { log } from "./log.ts";
import { DEFAULT_DEPARTURE_TIMEOUT_S, DEFAULT_EMPTY_TIMEOUT_S, startDevLiveKit } from "./server.ts";

const USAGE =
  "usage: node dev/livekit/cli.ts [--host 127.0.0.1] " +
  `[--port ${DEV_PORTS.livekit}] [--media-address <ipv4>] [--webhook <url>]… [--empty-timeout <s>] ` +
  "[--departure-timeout <s>]";

function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        host: { type: "string", default: "127.0.0.1" },
        port: { type: "string", default: String(DEV_PORTS.livekit) },
        "media-address": { type: "string" },
        webhook: { type: "string", multiple: true, default: [] },
        "empty-timeout": { type: "string", default: String(DEFAULT_EMPTY_TIMEOUT_S) },
        "departure-timeout": { type: "string", default: String(DEFAULT_DEPARTURE_TIMEOUT_S) },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const port = Number(values.port);
  const emptyTimeoutS = Number(values["empty-timeout"]);
  const departureTimeoutS = Number(values["departure-timeout"]);
  if (!Number.isInteger(port) || port < 0 || port > 65535 || !(emptyTimeoutS > 0) || !(departureTimeoutS > 0)) {
    console.error(
      `--port must be 0–65535, --empty-timeout and --departure-timeout positive numbers of seconds\n${USAGE}`,
    );
    process.exit(2);
  }
  for (const url of values.webhook) {
    if (!URL.canParse(url)) {
      console.error(`--webhook ${url}: not a URL\n${USAGE}`);
      process.exit(2);
    }
  }
  const apiKey = process.env.LIVEKIT_API_KEY ?? "devkey";
  return startDevLiveKit({
    host: values.host,
    port,
    apiKey,
    apiSecret: process.env.LIVEKIT_API_SECRET ?? "secret",
    webhookUrls: values.webhook,
    mediaAddress: values["media-address"],
    emptyTimeoutS,
    departureTimeoutS,
  }).then((server) => {
    console.log(
      `LiveKit DEVELOPMENT server (not for production: use LiveKit Cloud or livekit-server) at ${server.url}\n` +
        `  API key: ${apiKey}   webhooks: ${values.webhook.length ? values.webhook.join(", ") : "none"}\n` +
        `  Opus/VP8 forwarding, data relay, agent dispatch, Twirp RoomService/AgentDispatchService; no simulcast, TURN or scaling`,
    );
    let stopping = false;
    const stop = () => {
      if (stopping) process.exit(1);
      stopping = true;
      void server.close().then(() => process.exit(0));
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

// A development server should outlive one peer's failure (werift can reject inside a half-closed connection):
// log it and keep running.
process.on("unhandledRejection", (reason) => log.error("unhandled_rejection", { reason }));
process.on("uncaughtException", (err) => log.error("uncaught_exception", { reason: err }));

main().catch((err: unknown) => {
  console.error(`✖ could not start the development LiveKit server: ${(err as Error).message}`);
  process.exit(1);
});
