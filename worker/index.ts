/**
 * The Worker: Hono app with the HTML pages, the REST API, agent ingest, LiveKit webhooks and the
 * transcript socket routing. Re-exports the Durable Object classes (wrangler binds them by name).
 *
 * See docs/architecture.md, "Parts" and "REST API"; docs/edge.md.
 */
import { Hono, type MiddlewareHandler } from "hono";
import type { HealthResponse } from "../contract/index.ts";
import { readEdgeConfig } from "../edge/config.ts";
import type { AppEnv } from "./app-env.ts";
import { notFound, onError } from "./errors.ts";
import { requestLog } from "./request-log.ts";
import { checkProfileConfig } from "./profiles.ts";
import { actionRoutes } from "./routes/actions.ts";
import { conversationRoutes } from "./routes/conversations.ts";
import { ingestRoutes } from "./routes/ingest.ts";
import { messageRoutes } from "./routes/messages.ts";
import { modeRoutes } from "./routes/mode.ts";
import { pageRoutes, staticRoutes } from "./routes/pages.ts";
import { plannerRoutes } from "./routes/planner.ts";
import { sessionRoutes } from "./routes/session.ts";
import { socketRoutes } from "./routes/socket.ts";
import { tokenRoutes } from "./routes/token.ts";
import { transcriptRoutes } from "./routes/transcripts.ts";
import { visitorRoutes } from "./routes/visitor.ts";
import { tutorRoutes } from "./routes/tutor.ts";
import { webhookRoutes } from "./routes/webhook.ts";
import { rateLimit } from "./rate-limit.ts";
import { apiCors, requireAllowedOrigin, securityHeaders } from "./security.ts";
import { visitorMiddleware } from "./visitor.ts";
import type { z } from "zod";

export { RoomDO } from "../durable-objects/room-do.ts";
export { SessionCapDO } from "../durable-objects/session-cap-do.ts";
export { SessionDO } from "../durable-objects/session-do.ts";
export { VisitorDO } from "../durable-objects/visitor-do.ts";

const configMiddleware: MiddlewareHandler<AppEnv> = async (c, next) => {
  const config = readEdgeConfig(c.env);
  checkProfileConfig(config);
  c.set("config", config);
  await next();
};

/** API responses are per-visitor and live: never cached. A 101 upgrade response is left untouched. */
const noStore: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  if (c.res.status !== 101) c.res.headers.set("Cache-Control", "no-store");
};

const app = new Hono<AppEnv>();
app.onError(onError);
app.notFound(notFound);

app.use(requestLog(), configMiddleware, securityHeaders);
// Static files (wrangler.toml runs the Worker first for them): security headers, but the assets layer's own
// caching and no visitor cookie.
app.route("/", staticRoutes);
app.use(noStore);
// Server-to-server routes: authenticated by signature, no cookie, no CORS.
app.route("/", ingestRoutes);
app.route("/", actionRoutes);
app.route("/", webhookRoutes);

// Every cookie-bearing route refuses foreign origins and `Origin: null` before a cookie is read or issued; the
// socket upgrade refuses with an error frame instead (routes/socket.ts). See docs/architecture.md, "Security model".
app.use((c, next) => (c.req.path.startsWith("/ws/") ? next() : requireAllowedOrigin(c, next)));
app.use(visitorMiddleware);
app.get("/health", (c) => c.json({ status: "ok" } satisfies z.infer<typeof HealthResponse>));
for (const path of [
  "/token",
  "/session",
  "/session/*",
  "/transcripts/*",
  "/planner",
  "/tutor",
  "/tutor/*",
  "/conversations",
  "/conversations/*",
  "/visitor/*",
])
  app.use(path, apiCors);
const stopLimit = rateLimit((env) => env.STOP_LIMITER);
app.use("/session/:session_id", (c, next) => (c.req.method === "DELETE" ? stopLimit(c, next) : next()));
app.route("/", tokenRoutes);
app.route("/", sessionRoutes);
app.route("/", messageRoutes);
app.route("/", modeRoutes);
app.route("/", transcriptRoutes);
app.route("/", conversationRoutes);
app.route("/", plannerRoutes);
app.route("/", visitorRoutes);
app.route("/", tutorRoutes);
app.route("/", socketRoutes);
app.route("/", pageRoutes);

export default app satisfies ExportedHandler<Env>;
