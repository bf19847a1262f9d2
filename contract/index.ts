/**
 * The wire contract shared by the Worker, the Durable Objects, the agent and the page, and the defaults
 * and limits they share (defaults.ts). zod schemas are the single source; types come from `z.infer`.
 * No runtime dependency but zod/mini. The configuration reader (config.ts, classic zod) and the logger
 * (log.ts) are imported from their own modules, so that the page does not carry them.
 */
export * from "./rest.ts";
export * from "./events.ts";
export * from "./actions.ts";
export * from "./messages.ts";
export * from "./mode.ts";
export * from "./conversations.ts";
export * from "./tutor.ts";
export * from "./usage.ts";
export * from "./signature.ts";
export * from "./defaults.ts";
