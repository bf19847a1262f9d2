/**
 * Free TCP ports for servers a test or benchmark starts (Node only).
 */
import { createServer } from "node:net";

/**
 * A TCP port that was free a moment ago: bound and closed again before returning.
 * @param host the address to bind (default 127.0.0.1)
 */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
