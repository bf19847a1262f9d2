/**
 * Random ids, shared by the Worker and the Durable Objects (Web Crypto, as in workerd).
 */

/**
 * 128 random bits, base64url without padding (22 characters): visitor and session ids (contract `SessionId`), and
 * the ids of relayed mode changes (contract `MessageId`).
 */
export function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}
