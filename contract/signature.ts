/**
 * The ingest signature, shared by the agent (signs) and the Worker (verifies).
 *
 * Header: `X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<session_id>.<raw body>")>`.
 * See docs/architecture.md, "Agent ingest". Uses only WebCrypto, present in both
 * Node 22 and workerd.
 */

/** Name of the HTTP header carrying the signature. */
export const SIGNATURE_HEADER = "X-Signature";
/** Largest accepted difference between the signature's `t` and the verifier's clock, in seconds. */
export const SIGNATURE_TOLERANCE_S = 300;

const encoder = new TextEncoder();

async function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
}

function toHex(buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
}

function fromHex(hex: string): Uint8Array<ArrayBuffer> | null {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(hex)) return null;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/**
 * Signs an ingest body.
 * @param secret `AGENT_INGEST_SECRET`
 * @param sessionId the session the body is posted to
 * @param body the exact request body that will be sent
 * @param nowS unix time in seconds (default: now)
 * @returns the `X-Signature` header value
 */
export async function signIngest(secret: string, sessionId: string, body: string, nowS?: number): Promise<string> {
  const t = Math.floor(nowS ?? Date.now() / 1000);
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(`${t}.${sessionId}.${body}`));
  return `t=${t},v1=${toHex(mac)}`;
}

/** Why a signature was refused; `ok` when it verified. */
export type SignatureVerdict = "ok" | "missing" | "malformed" | "stale" | "mismatch";

/**
 * Verifies an ingest signature in constant time (WebCrypto `verify`).
 * @param header the `X-Signature` value, or null when absent
 * @param nowS unix time in seconds (default: now)
 * @returns `"ok"` or the reason it failed; never throws on bad input
 */
export async function verifyIngest(
  secret: string,
  sessionId: string,
  body: string,
  header: string | null | undefined,
  nowS?: number,
): Promise<SignatureVerdict> {
  if (!header) return "missing";
  const m = /^t=(\d{1,12}),v1=([0-9a-fA-F]{64})$/.exec(header.trim());
  if (!m) return "malformed";
  const t = Number(m[1]);
  const now = Math.floor(nowS ?? Date.now() / 1000);
  if (Math.abs(now - t) > SIGNATURE_TOLERANCE_S) return "stale";
  const mac = fromHex(m[2]!);
  if (!mac) return "malformed";
  const ok = await crypto.subtle.verify(
    "HMAC",
    await hmacKey(secret),
    mac,
    encoder.encode(`${t}.${sessionId}.${body}`),
  );
  return ok ? "ok" : "mismatch";
}
