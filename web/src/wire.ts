/**
 * The wire shapes the page reads, as `zod/mini` schemas.
 *
 * Why not import `contract/` directly: the contract is written with classic zod, which adds ~26 KB gzip
 * to the page (~93 KB with `import { z }`), and livekit-client alone is ~132 KB gzip of the 150 KB page
 * budget (ARCHITECTURE.md, "Performance targets"). These schemas are therefore a `zod/mini` mirror of
 * `contract/events.ts` and `contract/rest.ts`, and test/web/wire.test.ts fails whenever their JSON Schema
 * differs from the contract's, so a contract change cannot silently drift from what the page accepts.
 */
import * as z from "zod/mini";
import type * as contract from "../../contract/index.ts";

const Role = z.enum(["user", "agent"]);
const EpochMs = z.int().check(z.nonnegative());
const Seq = z.int().check(z.positive());
const NAME = /^[A-Za-z0-9_-]{1,64}$/;

export const TranscriptMessage = z.object({
  role: Role,
  text: z.string().check(z.maxLength(8000)),
  final: z.boolean(),
  seq: Seq,
  ts: EpochMs,
});

export const SpeechMessage = z.object({
  role: Role,
  event: z.enum(["speech_started", "speech_ended"]),
  seq: Seq,
  ts: EpochMs,
});

export const SessionStateMessage = z.object({
  type: z.literal("session"),
  status: z.enum(["starting", "active", "ended"]),
  reason: z.optional(z.enum(["stopped", "timeout", "agent_lost", "agent_unavailable", "error"])),
  seq: Seq,
  ts: EpochMs,
});

/** Any frame of `/ws/transcript/{session_id}`; mirrors contract `ServerMessage`. */
export const ServerMessage = z.union([TranscriptMessage, SpeechMessage, SessionStateMessage]);

/** The frame sent before a refused socket is closed with 1011; mirrors contract `SocketErrorMessage`. */
export const SocketErrorMessage = z.object({ type: z.literal("error"), code: z.string(), message: z.string() });

/** `GET /token` 200 body; mirrors contract `TokenResponse` (identity reservation is the server's check). */
export const TokenResponse = z.object({
  token: z.string().check(z.minLength(1)),
  room: z.string().check(z.regex(NAME)),
  identity: z.string().check(z.regex(NAME)),
  url: z.string().check(z.minLength(1)),
});

/** `POST /session` 201 body; mirrors contract `SessionCreateResponse`. */
export const SessionCreateResponse = z.object({ session_id: z.string().check(z.regex(/^[A-Za-z0-9_-]{22}$/)) });

/** Every 4xx/5xx body; mirrors contract `ErrorBody`. */
export const ErrorBody = z.object({
  error: z.object({ code: z.string().check(z.regex(/^[a-z][a-z0-9_]*$/)), message: z.string().check(z.minLength(1)) }),
});

// The page's types are the contract's own: a shape mismatch is a type error here.
export type ServerMessage = contract.ServerMessage;
export type TranscriptMessage = contract.TranscriptMessage;
export type SpeechMessage = contract.SpeechMessage;
export type SessionStateMessage = contract.SessionStateMessage;
export type TokenResponse = contract.TokenResponse;
export type EndReason = contract.EndReason;
const _sameShape: z.infer<typeof ServerMessage> extends contract.ServerMessage ? true : never = true;
void _sameShape;
