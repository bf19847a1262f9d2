/**
 * A profile's intents as LiveKit Agents function tools (`llm.tool`, @livekit/agents 1.9 `llm/tool_context.ts`):
 * one tool per intent, named as the intent, whose call is sent to the Worker's backend by the actions client
 * (actions.ts). See docs/agent.md, "Profiles and actions".
 *
 * - **Description** = the intent's description + `"\nExamples: "` + its examples joined with `" | "`
 *   ({@link toolDescription}). The local OpenAI stand-in (dev/openai/) reads the examples back from that line to
 *   match a visitor's words to a tool; a real LLM reads them as hints.
 * - **Parameters** = the intent's JSON Schema as written (the framework passes a JSON Schema object to the LLM
 *   unchanged and does not validate it: the Worker does, and answers `invalid` with the errors).
 * - **Confirmation** (`confirm: true`): the schema gets a required boolean `confirmed` ({@link CONFIRMED_PARAMETER}).
 *   A call without `confirmed: true` is answered by the agent itself, "Read it back and ask for a yes: <intent>
 *   <arguments as words>", and nothing is sent; a confirmed call is sent without `confirmed`.
 * - **Output** to the LLM: the `ActionResponse` as compact JSON (the framework stringifies what `execute`
 *   returns), whatever its status; when there is none, a short sentence (actions.ts {@link failureText}) returned
 *   as an `llm.ToolError`, which the framework hands to the LLM as it is, without logging it (it is returned, not
 *   thrown: a thrown error is logged with its message, and a read-back carries the visitor's words).
 * - **call_id** = the LLM's tool call id (`ToolOptions.toolCallId`) when it fits the contract's `CallId`, else a
 *   fresh one.
 */
import { llm } from "@livekit/agents";
import type { JSONSchema7 } from "json-schema";
import { randomBytes } from "node:crypto";
import { CallId } from "../contract/index.ts";
import type { Logger } from "../contract/log.ts";
import type { Intent, ObjectSchema } from "../contract/profile.ts";
import { type ActionCaller, failureText } from "./actions.ts";

/** The boolean parameter a `confirm: true` intent's tool gets. */
export const CONFIRMED_PARAMETER = "confirmed";
/** Its description, for the LLM. */
export const CONFIRMED_DESCRIPTION = "true only after you read the action back to the visitor and they said yes";
/** How the answer to an unconfirmed call starts. */
export const READ_BACK_PREFIX = "Read it back and ask for a yes: ";

/** A tool built from an intent: what `llm.tool` returns for JSON Schema parameters. */
export type IntentTool = llm.FunctionTool;

/**
 * The tool's description.
 * @returns `<description>\nExamples: <example 1> | <example 2> | …`
 */
export function toolDescription(intent: Pick<Intent, "description" | "examples">): string {
  return `${intent.description}\nExamples: ${intent.examples.join(" | ")}`;
}

/**
 * The tool's parameters: the intent's schema, plus the required boolean {@link CONFIRMED_PARAMETER} when the
 * intent asks for confirmation. The intent's own schema object is not changed.
 * @throws Error when a `confirm: true` intent already has a property named `confirmed`
 */
export function toolParameters(intent: Pick<Intent, "name" | "parameters" | "confirm">): ObjectSchema {
  const schema = intent.parameters;
  if (!intent.confirm) return schema;
  if (Object.hasOwn(schema.properties, CONFIRMED_PARAMETER)) {
    throw new Error(
      `intent ${intent.name}: the parameter "${CONFIRMED_PARAMETER}" is reserved for confirmation (confirm: true)`,
    );
  }
  return {
    ...schema,
    properties: {
      ...schema.properties,
      [CONFIRMED_PARAMETER]: { type: "boolean", description: CONFIRMED_DESCRIPTION },
    },
    required: [...(schema.required ?? []), CONFIRMED_PARAMETER],
  };
}

/** A value in words: strings as they are, anything else as compact JSON. */
function words(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * The agent's own answer to a call that needs a yes first.
 * @param args the call's arguments without `confirmed`
 * @returns e.g. `Read it back and ask for a yes: RESCHEDULE_TASK task: dentist, due: 2026-12-02T09:00:00+01:00`
 */
export function readBackText(intent: string, args: Record<string, unknown>): string {
  const parts = Object.entries(args).map(([k, v]) => `${k.replaceAll("_", " ")}: ${words(v)}`);
  return `${READ_BACK_PREFIX}${[intent, parts.join(", ")].filter(Boolean).join(" ")}`;
}

/** A fresh call id, for a tool call whose id the contract would refuse. */
export function freshCallId(): string {
  return `agent_${randomBytes(12).toString("hex")}`;
}

/**
 * Builds the tools of a profile's intents.
 * @param intents the profile's intent registry (contract/profile.ts `Intent`), validated when profiles were loaded
 * @param caller sends a call to the Worker (actions.ts `ActionsClient`)
 * @param log the job's logger: `action_unconfirmed` (intent, call id) when a call waits for a yes; the caller
 *   logs `action_called`
 * @returns one tool per intent, in the registry's order; give them to the agent (`voice.Agent` `tools`)
 * @throws Error from {@link toolParameters}
 */
export function intentTools(intents: readonly Intent[], caller: ActionCaller, log: Logger): IntentTool[] {
  return intents.map((intent) => {
    const parameters = toolParameters(intent);
    return llm.tool({
      name: intent.name,
      description: toolDescription(intent),
      // A JSON Schema object: the framework sends it to the LLM as it is (@livekit/agents 1.9 `toJsonSchema`).
      parameters: parameters as JSONSchema7,
      execute: async (args: Record<string, unknown> | null, { toolCallId }): Promise<unknown> => {
        const callId = CallId.safeParse(toolCallId).success ? toolCallId : freshCallId();
        let sent = args ?? {};
        if (intent.confirm) {
          const { [CONFIRMED_PARAMETER]: confirmed, ...rest } = sent;
          if (confirmed !== true) {
            log.info("action_unconfirmed", { intent: intent.name, call_id: callId });
            return new llm.ToolError(readBackText(intent.name, rest));
          }
          sent = rest;
        }
        const outcome = await caller.call({ call_id: callId, intent: intent.name, arguments: sent });
        return outcome.answered ? outcome.response : new llm.ToolError(failureText(outcome));
      },
    });
  });
}
