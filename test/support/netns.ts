/**
 * Media tests ask here for the namespace's private address (set by test/netns.ts).
 */

/**
 * The private, non-loopback address of the test's network namespace, for servers that carry WebRTC
 * media (bind and advertise it; Chromium and libwebrtc never use 127.0.0.1).
 * @returns the address, or null when the run is not inside a namespace (then skip the media test)
 * @throws Error under `CI=true` when not inside a namespace: CI must never skip media tests silently
 */
export function mediaAddress(): string | null {
  const addr = process.env.NETNS_ADDR ?? null;
  if (!addr && process.env.CI === "true") {
    throw new Error("media tests must run inside the network namespace: run them through `npm test`");
  }
  return addr;
}
