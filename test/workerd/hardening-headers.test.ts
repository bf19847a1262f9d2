// Security headers (issue #11, finding 5): HSTS on https responses only, a Permissions-Policy that lets only
// the page itself use the microphone, the same headers on /static/*, and a CSP connect-src that allows
// LiveKit Cloud's region failover (every *.livekit.cloud host) without widening it for self-hosted LiveKit.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { readEdgeConfig } from "../../edge/config.ts";
import { contentSecurityPolicy } from "../../worker/security.ts";
import { call, randomIp } from "./helpers.ts";

/** The `connect-src` sources of the CSP the Worker sends for `LIVEKIT_URL`. */
function connectSources(liveKitUrl: string): string[] {
  const csp = contentSecurityPolicy(readEdgeConfig({ ...env, LIVEKIT_URL: liveKitUrl } as Env));
  const directive = csp.split("; ").find((d) => d.startsWith("connect-src "));
  return directive!.split(" ").slice(1);
}

async function httpCall(path: string): Promise<Response> {
  return exports.default.fetch(
    new Request(`http://localhost:8787${path}`, { headers: { "CF-Connecting-IP": randomIp() } }),
  );
}

describe("Strict-Transport-Security", () => {
  it("is sent on https responses: one year, no includeSubDomains, no preload", async () => {
    for (const path of ["/health", "/chat", "/nope", "/static/chat.js"]) {
      expect((await call(path)).headers.get("Strict-Transport-Security"), path).toBe("max-age=31536000");
    }
  });

  it("is not sent over plain http (browsers ignore it there; local development stays http)", async () => {
    for (const path of ["/health", "/chat", "/static/chat.js"]) {
      expect((await httpCall(path)).headers.get("Strict-Transport-Security"), path).toBeNull();
    }
  });
});

describe("Permissions-Policy", () => {
  it("allows the microphone to the page's own origin only, and denies camera and geolocation", async () => {
    for (const path of ["/", "/chat", "/health", "/token"]) {
      const policy = (await call(path)).headers.get("Permissions-Policy") ?? "";
      const features = policy.split(/,\s*/);
      expect(features, path).toEqual(expect.arrayContaining(["microphone=(self)", "camera=()", "geolocation=()"]));
    }
  });
});

describe("/static/* (the page script and stylesheet)", () => {
  it("carries the same security headers as the pages", async () => {
    const page = await call("/chat");
    for (const path of ["/static/chat.js", "/static/chat.css"]) {
      const res = await call(path);
      expect(res.status, path).toBe(200);
      for (const name of [
        "Content-Security-Policy",
        "X-Content-Type-Options",
        "Referrer-Policy",
        "Permissions-Policy",
        "Strict-Transport-Security",
      ]) {
        expect(res.headers.get(name), `${path} ${name}`).toBe(page.headers.get(name));
      }
    }
  });

  it("stays cacheable with revalidation (no `no-store`, no visitor cookie)", async () => {
    const res = await call("/static/chat.js");
    expect(res.headers.get("Cache-Control") ?? "").not.toContain("no-store");
    expect(res.headers.get("Set-Cookie")).toBeNull();
    const etag = res.headers.get("ETag");
    expect(etag).toBeTruthy();
    const again = await call("/static/chat.js", { headers: { "If-None-Match": etag! } });
    expect(again.status).toBe(304);
  });
});

describe("CSP connect-src and LiveKit", () => {
  it("allows every *.livekit.cloud host for a LiveKit Cloud project (its region URLs)", () => {
    expect(connectSources("wss://my-project-abc123.livekit.cloud")).toEqual([
      "'self'",
      "wss://*.livekit.cloud",
      "https://*.livekit.cloud",
    ]);
  });

  it("allows only the configured host for a self-hosted LiveKit", () => {
    expect(connectSources("wss://livekit.example.com")).toEqual([
      "'self'",
      "wss://livekit.example.com",
      "https://livekit.example.com",
    ]);
    expect(connectSources("ws://localhost:7880")).toEqual(["'self'", "ws://localhost:7880", "http://localhost:7880"]);
    // A look-alike is not LiveKit Cloud.
    expect(connectSources("wss://livekit.cloud.example.com")).toEqual([
      "'self'",
      "wss://livekit.cloud.example.com",
      "https://livekit.cloud.example.com",
    ]);
  });
});
