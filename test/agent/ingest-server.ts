/**
 * A real local HTTP server that plays the Worker's ingest endpoint for the forwarder tests:
 * verifies the signature with the contract's `verifyIngest`, validates the body with `IngestBatch`,
 * de-duplicates by id, and answers with scripted statuses when told to.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { type AgentEvent, IngestBatch, SIGNATURE_HEADER, verifyIngest } from "../../contract/index.ts";

export interface Received {
  sessionId: string;
  verdict: string;
  events: AgentEvent[];
}

export interface IngestServer {
  url: string;
  /** Every request, in arrival order (including refused ones). */
  requests: Received[];
  /** Distinct event ids accepted, in first-arrival order. */
  stored: AgentEvent[];
  /**
   * Statuses to answer for the next requests (e.g. [503, 503]). A negative entry stores the batch
   * first and then answers with the absolute status: a response lost after the Worker stored it.
   */
  script: number[];
  /** TCP connections opened so far (keep-alive check). */
  connections: () => number;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function startIngestServer(secret: string): Promise<IngestServer> {
  const requests: Received[] = [];
  const stored: AgentEvent[] = [];
  const seen = new Set<string>();
  const script: number[] = [];
  let connections = 0;
  const server = createServer(async (req, res) => {
    const m = /^\/session\/([^/]+)\/events$/.exec(req.url ?? "");
    const body = await readBody(req);
    const sessionId = decodeURIComponent(m?.[1] ?? "");
    const verdict = await verifyIngest(secret, sessionId, body, req.headers[SIGNATURE_HEADER.toLowerCase()] as string);
    const parsed = IngestBatch.safeParse(JSON.parse(body));
    requests.push({ sessionId, verdict, events: parsed.success ? parsed.data.events : [] });
    const scripted = script.shift();
    const reply = (status: number, payload: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(payload));
    };
    if (scripted && scripted > 0)
      return reply(scripted, { error: { code: "scripted", message: `scripted ${scripted}` } });
    if (!m || req.method !== "POST") return reply(404, { error: { code: "not_found", message: "no route" } });
    if (verdict !== "ok") return reply(401, { error: { code: "bad_signature", message: verdict } });
    if (!parsed.success) return reply(400, { error: { code: "bad_body", message: parsed.error.message } });
    let accepted = 0;
    for (const e of parsed.data.events) {
      if (seen.has(e.id)) continue;
      seen.add(e.id);
      stored.push(e);
      accepted++;
    }
    if (scripted) return reply(-scripted, { error: { code: "scripted", message: "stored, then failed" } });
    reply(200, { accepted, duplicates: parsed.data.events.length - accepted });
  });
  server.on("connection", () => connections++);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stored,
    script,
    connections: () => connections,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
