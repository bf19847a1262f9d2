/**
 * Searching logs for what must never be in them (test/agent/log-privacy.test.ts, test/e2e/privacy.test.ts).
 */

/** A JSON Web Token (LiveKit access tokens, webhook authorizations): base64url `{"…` header, a dot, a payload. */
export const JWT = /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/;

/** An ingest signature's HMAC (`X-Signature: t=…,v1=<64 hex>`, contract/signature.ts). */
export const SIGNATURE = /v1=[0-9a-f]{64}/;

/**
 * The lines of `output` that hold `needle`, each cut to 400 characters: what a failed check shows.
 * @param needle a string (case-sensitive) or a pattern
 */
export function linesWith(output: string, needle: string | RegExp): string[] {
  const has = (line: string) => (typeof needle === "string" ? line.includes(needle) : needle.test(line));
  return output
    .split("\n")
    .filter(has)
    .map((line) => line.slice(0, 400));
}
