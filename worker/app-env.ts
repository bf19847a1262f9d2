/** Hono environment of the Worker: bindings from `wrangler types`, per-request variables set by middleware. */
import type { EdgeConfig } from "../edge/config.ts";

export interface AppEnv {
  Bindings: Env;
  Variables: {
    /** Validated configuration (set first, by `configMiddleware`). */
    config: EdgeConfig;
    /** The visitor id from the signed `vid` cookie (set by `visitorMiddleware`). */
    visitorId: string;
    /**
     * Set by the widget panel's route (`/embed/chat`) when it renders the panel for an allowed host: the response's
     * CSP then lets `ALLOWED_ORIGINS` frame it (worker/security.ts). Unset everywhere else.
     */
    framable?: true;
  };
}
