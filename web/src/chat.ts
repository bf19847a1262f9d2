/**
 * The `/chat` page script: runs the start flow (docs/architecture.md, "Flows"), feeds transcript frames
 * to the captions and the state machine, and tears everything down on Stop, on errors and on pagehide.
 * When the deployment has Turnstile on, the widget is rendered on page load and its token goes with
 * `POST /session` (web/src/turnstile.ts). The profile the page talks to (`#chat[data-profile]`, from
 * `/chat?agent=`) and the visitor's time zone go with `POST /session` too; a profile with planner intents has
 * the plan panel (`#plan`, web/src/plan.ts), loaded at page load and after each `ok` action frame.
 * `/chat?resume=<id>` carries the earlier conversation in `#chat[data-resume]`: it goes with `POST /session` as
 * `resume_from` (the Worker rendered the earlier captions; the agent gets their context from the Worker).
 * While the session is active the visitor may also type (`#typed`): each message is posted to the Worker
 * (`POST /session/{id}/messages`) and comes back on the transcript socket as their turn (`typed: true`).
 * The agent's audio drives the voice visualizer (web/src/visualizer.ts); with more than one audio input the visitor
 * picks the microphone (web/src/microphones.ts), opened on Start and switched at once during a conversation.
 * Its words are in the page's language (web/src/texts.ts reads them from the page's `#texts` block).
 * A browser that cannot make voice calls (no WebRTC: livekit-client's `isBrowserSupported()`) gets the
 * `browser_unsupported` error at page load, with Start disabled: no microphone is opened and no session created.
 * The page tells whoever embeds it when a conversation starts, ends and acts (web/src/events.ts).
 * Where the deployment offers live mode, the Live mode switch (web/src/live-mode.ts) chooses Start's mode and
 * switches a running conversation's; a 429 `live_limit_reached` at Start turns it off.
 */
import type { EndReason, SessionCreateResponse } from "../../contract/index.ts";
import { browserTimeZone, newIdentity, randomId, RequestError, sendMessage, startSession, stopSession } from "./api.ts";
import { CaptionLog } from "./captions.ts";
import { sendErrorText } from "./errors.ts";
import { emit, pageAction } from "./events.ts";
import { DisconnectReason, isBrowserSupported } from "livekit-client";
import { VoiceError, VoiceRoom } from "./livekit.ts";
import { LiveModeSwitch } from "./live-mode.ts";
import { LevelMeter } from "./meter.ts";
import { MicrophonePicker } from "./microphones.ts";
import { PlanPanel } from "./plan.ts";
import { TutorPanel } from "./tutor.ts";
import {
  canStart,
  canType,
  initialState,
  reduce,
  type Action,
  type ChatError,
  type ChatState,
  type ErrorKind,
} from "./state.ts";
import { texts } from "./texts.ts";
import { TranscriptSocket } from "./transcript-socket.ts";
import { TurnstileError, TurnstileWidget } from "./turnstile.ts";
import { findElements, render } from "./view.ts";
import { Visualizer } from "./visualizer.ts";

/** How long the session's "ended" frame may trail the deletion of its LiveKit room, ms. */
const ENDED_FRAME_GRACE_MS = 3000;

const el = findElements();
// The typed turns' label (chat.css `.caption--typed`), as a CSS string, for the live and the earlier captions.
el.root.style.setProperty("--typed", JSON.stringify(` · ${texts.typed}`));
const captions = new CaptionLog(el.log, el.captionsBox);
const meter = new LevelMeter(el.meter);
const visualizer = new Visualizer(el.visualizer);
const microphones = new MicrophonePicker(
  el.microphones,
  el.microphone,
  (deviceId) => void voice?.switchMicrophone(deviceId),
);
const turnstile = renderTurnstile();
/** The live mode switch, when the deployment offers live mode (web/pages/chat.ts `liveMode`). */
const liveInput = document.getElementById("live-mode") as HTMLInputElement | null;
const liveMode = liveInput && new LiveModeSwitch(liveInput, (notice) => dispatch({ type: "notice", notice }));
const planRoot = document.getElementById("plan");
const plan = planRoot && new PlanPanel(planRoot);
const tutorRoot = document.getElementById("tutor");
const tutor = tutorRoot && new TutorPanel(tutorRoot);
let state: ChatState = initialState;
let voice: VoiceRoom | null = null;
let socket: TranscriptSocket | null = null;
/** Bumped by every start and teardown: a start flow whose generation is stale stops at its next step. */
let generation = 0;
let retryUntil = 0;
/** The last typed message that failed before the server took it for sure (network, 5xx): sent again, same id. */
let unsent: { id: string; text: string } | null = null;
/** The session whose `ended` page event is still due (created by the Worker, not yet reported over), else null. */
let endDue: string | null = null;

/** Reports the session over (web/src/events.ts `ended`), once: later calls for it do nothing. */
function ended(reason: EndReason, error?: ErrorKind): void {
  const sessionId = endDue;
  endDue = null;
  if (sessionId) emit({ type: "ended", sessionId, reason, ...(error && { error }) });
}

/**
 * The Turnstile widget when the deployment has Turnstile on (web/pages/chat.ts puts the sitekey and the
 * script's URL on `#chat`),
 * rendered at page load so that its token is ready by the time Start is pressed; else null.
 */
function renderTurnstile(): TurnstileWidget | null {
  const { turnstileSitekey: siteKey, turnstileScript: script } = el.root.dataset;
  const container = document.getElementById("turnstile");
  return siteKey && script && container ? new TurnstileWidget(container, siteKey, script) : null;
}

function retryInS(): number {
  return Math.max(0, Math.ceil((retryUntil - Date.now()) / 1000));
}

function dispatch(action: Action): void {
  const before = state;
  state = reduce(state, action);
  if (state === before && action.type !== "server") return;
  render(el, state, retryInS());
  // Chosen before Start; switched during the conversation while its agent is in the room (the server needs it).
  if (liveMode)
    liveMode.enabled = state.phase === "live" ? canType(state) : state.phase === "idle" || state.phase === "error";
  // Keep keyboard focus on a visible control when the one that had it hides.
  if (document.activeElement === document.body || (document.activeElement as HTMLElement | null)?.hidden) {
    if (!el.stop.hidden) el.stop.focus();
    else if (!el.start.hidden) el.start.focus();
  }
}

/** Maps a start-flow failure to what the page shows. */
function toChatError(err: unknown): ChatError {
  if (err instanceof VoiceError) return { kind: err.kind };
  if (err instanceof TurnstileError) return { kind: "verification_failed" };
  if (err instanceof RequestError) {
    if (err.status === 0) return { kind: "server_unreachable" };
    if (err.code === "turnstile_failed" || err.code === "turnstile_unavailable")
      return { kind: "verification_failed", detail: err.message };
    // Live mode is used up for today: the visitor may start at once in standard mode (no countdown).
    if (err.code === "live_limit_reached") return { kind: "live_limit", detail: err.message };
    if (err.status === 429) return { kind: "rate_limited", detail: err.message, retryAfterS: err.retryAfterS };
    if (err.status === 403) return { kind: "forbidden", detail: err.message };
    if (err.status >= 500) return { kind: "session_error" };
    return { kind: "refused", detail: err.message };
  }
  return { kind: "session_error" };
}

async function teardown(deleteSession: boolean): Promise<void> {
  generation++;
  liveMode?.end();
  socket?.close();
  socket = null;
  meter.detach();
  visualizer.detach();
  microphones.inUse = undefined;
  const room = voice;
  voice = null;
  const sessionId = state.sessionId;
  await Promise.all([
    room?.disconnect(),
    deleteSession && sessionId ? stopSession(sessionId).catch(() => undefined) : undefined,
  ]);
}

/** Shows `err` and tears down, deleting the session (idempotent on the server) if there is one. */
function fail(err: unknown): void {
  const error = toChatError(err);
  if (error.kind === "live_limit") liveMode?.off();
  if (error.kind === "rate_limited") {
    retryUntil = Date.now() + (error.retryAfterS ?? 0) * 1000;
    tickRetry();
  }
  dispatch({ type: "fail", error });
  // A failure the state ignores (one after Stop, say) is not this session's end: what ended it reports it.
  if (state.error === error) ended("error", error.kind);
  void teardown(true);
}

function tickRetry(): void {
  render(el, state, retryInS());
  if (retryInS() > 0) setTimeout(tickRetry, 1000 - ((retryUntil - Date.now()) % 1000) + 20);
}

function openSocket(sessionId: string): void {
  socket = new TranscriptSocket(sessionId, {
    onMessage(message) {
      if (captions.apply(message)) {
        dispatch({ type: "server", message });
        plan?.onFrame(message);
        tutor?.onFrame(message);
        liveMode?.onFrame(message);
        if ("mode" in message && message.reason === "live_limit") dispatch({ type: "notice", notice: texts.liveLimit });
        if ("call_id" in message) emit({ type: "action", sessionId, action: pageAction(message) });
      }
      if ("type" in message && message.type === "session" && message.status === "ended") {
        // The state shows an end it explains as an error (agent_unavailable, …): the event names that error too.
        ended(message.reason ?? "stopped", state.phase === "error" ? state.error?.kind : undefined);
        void teardown(false).then(() => dispatch({ type: "stopped" }));
      }
    },
    onConnection: (connected) => dispatch({ type: "socket", connected }),
    onFatal(code, message) {
      if (code === "connection_lost") fail(new VoiceError("connection_lost", message));
      else fail(new RequestError(code === "forbidden" ? 403 : 400, code, message));
    },
  });
  socket.open();
}

/**
 * `POST /session`, with the Turnstile token once the widget has one. When the widget has it already (or Turnstile is
 * off) the request is sent before this returns, so that nothing the caller does next delays it. A start abandoned
 * meanwhile sends nothing and leaves the token to the next; a token that was sent is spent, whatever the answer.
 */
async function createSession(mine: number, identity: string): Promise<SessionCreateResponse> {
  const token = turnstile ? (turnstile.current ?? (await turnstile.token())) : undefined;
  if (mine !== generation) throw new Error("start abandoned");
  try {
    return await startSession(identity, {
      turnstile_token: token,
      profile: el.root.dataset.profile,
      timezone: browserTimeZone(),
      resume_from: el.root.dataset.resume,
      mode: liveMode?.startMode,
    });
  } finally {
    if (token !== undefined) turnstile?.spend(token);
  }
}

/** A promise's outcome without throwing (`Promise.allSettled` of one). */
async function settle<T>(p: Promise<T>): Promise<PromiseSettledResult<T>> {
  return (await Promise.allSettled([p]))[0]!;
}

/**
 * The microphone permission as the Permissions API last told it: "granted" when the browser opens the microphone
 * without asking. Read at page load and kept current; "prompt" until then, and where the browser cannot tell (Firefox
 * before 121 throws a TypeError).
 */
let microphonePermission: PermissionState = "prompt";
/** Settles once {@link microphonePermission} holds what the browser said (or that it cannot tell). */
const microphonePermissionRead: Promise<unknown> = Promise.resolve(
  navigator.permissions?.query({ name: "microphone" as PermissionName }),
).then(
  (status) => {
    if (!status) return;
    microphonePermission = status.state;
    status.addEventListener("change", () => (microphonePermission = status.state));
  },
  () => undefined,
);

/** Shows the open microphone's level, and which input it is. */
function showMicrophone(track: MediaStreamTrack): void {
  meter.attach(track);
  microphones.inUse = track.getSettings().deviceId;
}

async function start(): Promise<void> {
  // A browser without WebRTC: Start is disabled, and would open a microphone and create a session for nothing.
  if (!canStart(state)) return;
  if (state.phase === "starting" || state.phase === "live" || state.phase === "stopping" || retryInS() > 0) return;
  const mine = ++generation;
  captions.clear();
  meter.muted = false;
  dispatch({ type: "start" });
  const room: VoiceRoom = new VoiceRoom({
    // While starting, a failed connect is reported by the start flow itself. A room the server deleted means
    // the session ended, and its socket says why ("ended" frame, e.g. agent_unavailable): under load the room's
    // disconnect can overtake that frame, so the frame gets a moment before this counts as a lost connection.
    onDisconnected: (reason) => {
      // livekit-client leaves the room itself as the page is left (beforeunload, pagehide, freeze: its
      // `disconnectOnPageLeave`), before the page's own pagehide: the visitor left, the connection was not lost.
      if (reason === DisconnectReason.CLIENT_INITIATED) return voice === room && leave();
      const lost = () =>
        voice === room && state.phase === "live" && fail(new VoiceError("connection_lost", "room disconnected"));
      if (reason === DisconnectReason.ROOM_DELETED && socket) setTimeout(lost, ENDED_FRAME_GRACE_MS);
      else lost();
    },
    onAudioBlocked: (blocked) => voice === room && dispatch({ type: "audio_blocked", blocked }),
    onRemoteAudio: (track, subscribed) =>
      voice === room && (subscribed ? visualizer.attach(track) : visualizer.detach(track)),
    onMicrophoneRestarted: (track) => voice === room && showMicrophone(track),
  });
  voice = room;
  const identity = newIdentity();
  // One request starts the session and answers the room's token (POST /session without a room). When the browser
  // will not ask for the microphone, it is sent at once, while the device opens (getUserMedia is slow: docs/web.md,
  // "How the page script works"); when it asks, the visitor answers first: no agent is dispatched to greet a
  // permission prompt. The request and the microphone come before the AudioContexts below: a page's first one can
  // hold the main thread for a few hundred ms, and what is already on its way meanwhile is not delayed.
  let creating = microphonePermission === "granted" ? createSession(mine, identity) : null;
  const micOpening = room.openMicrophone(microphones.preferred);
  // Both must run inside the click's user activation, before any await.
  room.startAudio().catch(() => undefined);
  meter.prepare();
  // Settled below; a rejection seen only there must not be reported as unhandled meanwhile.
  creating?.catch(() => undefined);
  micOpening.then(
    (track) => {
      if (mine !== generation) return;
      showMicrophone(track.mediaStreamTrack);
      // Now that the page may use the microphone, the browser names the inputs.
      void microphones.refresh();
    },
    () => undefined,
  );
  if (!creating) {
    const mic = await settle(micOpening);
    if (mine !== generation) return void room.disconnect();
    if (mic.status === "rejected") return fail(mic.reason);
    creating = createSession(mine, identity);
  }
  const session = await settle(creating);
  if (mine !== generation) {
    // Stopped (or failed) meanwhile: the session created in parallel must not outlive the page's intent.
    if (session.status === "fulfilled") void stopSession(session.value.session_id).catch(() => undefined);
    return void room.disconnect();
  }
  let joining = Promise.resolve();
  if (session.status === "fulfilled") {
    // From here a Stop, a failure or leaving the page deletes the session.
    dispatch({ type: "session_created", sessionId: session.value.session_id });
    liveMode?.begin(session.value.session_id);
    endDue = session.value.session_id;
    const { url, token } = session.value.livekit;
    joining = (async () => {
      await room.connect(url, token);
      const track = await micOpening.catch(() => null); // a microphone failure is reported as such, below
      if (track) await room.publishMicrophone(track);
    })();
  }
  const [media, mic] = await Promise.allSettled([joining, micOpening]);
  if (mine !== generation) return void room.disconnect();
  // The microphone first (the session just created is deleted by fail), then a refused session, which
  // explains more than a failed media connection.
  if (mic.status === "rejected") return fail(mic.reason);
  if (session.status === "rejected") return fail(session.reason);
  if (media.status === "rejected") return fail(media.reason);
  dispatch({ type: "media_connected" });
  emit({ type: "started", sessionId: session.value.session_id });
  dispatch({ type: "audio_blocked", blocked: !room.room.canPlaybackAudio });
  openSocket(session.value.session_id);
}

/**
 * Sends the typed message (trimmed; an empty one is ignored). The box is cleared once the server has taken it: the
 * visitor's turn itself arrives on the transcript socket, like a spoken one. A refusal keeps the text and says why in
 * the status line; the same text sent again after a failure the server may not have seen (no answer, 5xx) keeps its
 * id, so that it is taken once.
 */
async function send(): Promise<void> {
  const text = el.message.value.trim();
  const sessionId = state.sessionId;
  if (!text || !sessionId || !canType(state) || state.sending) return;
  const id = unsent?.text === text ? unsent.id : randomId();
  const mine = generation;
  // Send is disabled while the message is on its way: the keyboard focus goes on typing.
  if (document.activeElement === el.send) el.message.focus();
  dispatch({ type: "send" });
  let notice: string | undefined;
  unsent = null;
  try {
    await sendMessage(sessionId, id, text);
    if (el.message.value.trim() === text) el.message.value = "";
  } catch (err) {
    const e = err as RequestError;
    if (e.status === 0 || e.status >= 500) unsent = { id, text };
    notice = sendErrorText(e);
  }
  if (mine === generation) dispatch({ type: "sent", notice });
}

async function stop(): Promise<void> {
  if (state.phase !== "starting" && state.phase !== "live") return;
  dispatch({ type: "stop" });
  ended("stopped");
  await teardown(true);
  dispatch({ type: "stopped" });
}

el.start.addEventListener("click", () => void start());
el.typed.addEventListener("submit", (e) => {
  e.preventDefault();
  void send();
});
el.stop.addEventListener("click", () => void stop());
el.mute.addEventListener("click", () => {
  const muted = !state.muted;
  meter.muted = muted;
  dispatch({ type: "mute", muted });
  void voice?.setMuted(muted);
});
el.playAudio.addEventListener("click", () => {
  voice?.startAudio().then(
    () => dispatch({ type: "audio_blocked", blocked: false }),
    () => undefined,
  );
});
/**
 * The visitor leaves the page (pagehide, or livekit-client leaving the room as the page goes): the session is deleted
 * by a request that outlives the page (`keepalive`), reported over, and the page goes back to its start state (a page
 * restored from the back/forward cache offers Start).
 */
function leave(): void {
  if (!state.sessionId || (state.phase !== "starting" && state.phase !== "live")) return;
  void stopSession(state.sessionId, true).catch(() => undefined);
  ended("stopped");
  dispatch({ type: "stop" });
  void teardown(false).then(() => dispatch({ type: "stopped" }));
}

addEventListener("pagehide", leave);

// Ready once the microphone permission is known, so that a Start creates the session at once when it may.
void microphonePermissionRead.then(() => (el.root.dataset.ready = "true"));
// No RTCPeerConnection (Debian's WebKitGTK, some embedded web views): say so now, not after a session was created.
if (!isBrowserSupported()) dispatch({ type: "unsupported" });
render(el, state);
void plan?.load();
// Shown before Start when the browser already names the inputs (the microphone permission is granted).
void microphones.refresh();
