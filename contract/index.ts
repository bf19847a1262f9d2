/**
 * The wire contract shared by the Worker, the Durable Objects, the agent and the page.
 * zod schemas are the single source; types come from `z.infer`. No runtime dependency but zod.
 */
export * from "./rest.ts";
export * from "./events.ts";
export * from "./signature.ts";
