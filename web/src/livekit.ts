/**
 * The page's side of the LiveKit room (livekit-client 2.23): the visitor's microphone track, the
 * agent's audio, and the unlocking of audio playback required by browsers' autoplay policies.
 */
import {
  createLocalAudioTrack,
  DisconnectReason,
  MediaDeviceFailure,
  Room,
  RoomEvent,
  Track,
  TrackEvent,
  type LocalAudioTrack,
  type RemoteTrack,
} from "livekit-client";
import type { ErrorKind } from "./state.ts";

export interface VoiceRoomHandlers {
  /** The room dropped without `disconnect()` having been called (network loss, room deleted). */
  onDisconnected(reason: DisconnectReason | undefined): void;
  /** Whether the browser currently blocks the agent's audio (call `startAudio()` from a click). */
  onAudioBlocked(blocked: boolean): void;
  /**
   * A remote audio track (the agent's voice) was subscribed (`subscribed` true; it plays in a media element the room
   * added to the page) or unsubscribed (false). Optional.
   */
  onRemoteAudio?(track: MediaStreamTrack, subscribed: boolean): void;
  /**
   * The microphone's MediaStreamTrack was replaced (`switchMicrophone()`, or an unmute that applied a device change
   * made while muted): the new one, e.g. for the level meter. Optional.
   */
  onMicrophoneRestarted?(track: MediaStreamTrack): void;
}

/** A failure of the start flow with the error kind the page shows for it. */
export class VoiceError extends Error {
  readonly kind: ErrorKind;
  constructor(kind: ErrorKind, cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = "VoiceError";
    this.kind = kind;
  }
}

/** Whether a getUserMedia failure says that the input asked for is not there (rather than refused or busy). */
function isMissingDevice(err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name;
  return name === "OverconstrainedError" || name === "NotFoundError";
}

const MIC_ERRORS: Record<MediaDeviceFailure, ErrorKind> = {
  [MediaDeviceFailure.PermissionDenied]: "mic_denied",
  [MediaDeviceFailure.NotFound]: "mic_missing",
  [MediaDeviceFailure.DeviceInUse]: "mic_busy",
  [MediaDeviceFailure.Other]: "mic_failed",
};

export class VoiceRoom {
  readonly room: Room;
  #microphone: LocalAudioTrack | null = null;
  #leaving = false;
  readonly #audio = new Set<HTMLMediaElement>();

  readonly #handlers: VoiceRoomHandlers;

  constructor(handlers: VoiceRoomHandlers) {
    this.#handlers = handlers;
    this.room = new Room({ adaptiveStream: false, dynacast: false, disconnectOnPageLeave: true });
    this.room
      .on(RoomEvent.TrackSubscribed, (track: RemoteTrack) => {
        if (track.kind !== Track.Kind.Audio) return;
        const el = track.attach();
        el.classList.add("agent-audio");
        this.#audio.add(el);
        document.body.append(el);
        handlers.onRemoteAudio?.(track.mediaStreamTrack, true);
      })
      .on(RoomEvent.TrackUnsubscribed, (track: RemoteTrack) => {
        for (const el of track.detach()) {
          this.#audio.delete(el);
          el.remove();
        }
        if (track.kind === Track.Kind.Audio) handlers.onRemoteAudio?.(track.mediaStreamTrack, false);
      })
      .on(RoomEvent.AudioPlaybackStatusChanged, () => handlers.onAudioBlocked(!this.room.canPlaybackAudio))
      .on(RoomEvent.Disconnected, (reason?: DisconnectReason) => {
        if (!this.#leaving) handlers.onDisconnected(reason);
      });
  }

  /**
   * Unlocks audio playback. Call it synchronously inside the click handler (Safari and Chrome only
   * allow playback started by a user gesture); the returned promise may reject, which only means the
   * audio stays blocked (reported through `onAudioBlocked`).
   */
  startAudio(): Promise<void> {
    return this.room.startAudio();
  }

  /**
   * Opens the microphone (echo cancellation, noise suppression and auto gain on).
   * @param deviceId the input to open (a `MediaDeviceInfo.deviceId`), asked for as `exact` (Chromium ignores an
   *   `ideal` audio deviceId and opens its default); when that input is not there (unplugged since it was chosen:
   *   `OverconstrainedError` or `NotFoundError`), the browser's default opens instead, without an error. Absent: the
   *   default.
   * @throws VoiceError `mic_denied` | `mic_missing` | `mic_busy` | `mic_failed`
   */
  async openMicrophone(deviceId?: string): Promise<LocalAudioTrack> {
    const open = (id?: string) =>
      createLocalAudioTrack({
        echoCancellation: true,
        noiseSuppression: true,
        autoGainControl: true,
        ...(id ? { deviceId: { exact: id } } : {}),
      });
    try {
      const track = await open(deviceId).catch((err: unknown) => {
        if (deviceId && isMissingDevice(err)) return open();
        throw err;
      });
      if (this.#leaving) {
        // disconnect() ran while the device opened: release it at once.
        track.stop();
        throw new Error("the room was left while the microphone opened");
      }
      this.#microphone = track;
      track.on(TrackEvent.Restarted, () => this.#handlers.onMicrophoneRestarted?.(track.mediaStreamTrack));
      return track;
    } catch (err) {
      throw new VoiceError(MIC_ERRORS[MediaDeviceFailure.getFailure(err) ?? MediaDeviceFailure.Other], err);
    }
  }

  /**
   * Joins the room.
   * @param url the LiveKit signal URL (`ws:`/`wss:`) from `POST /session` (or `GET /token`)
   * @throws VoiceError `livekit_unreachable` when the room cannot be joined
   */
  async connect(url: string, token: string): Promise<void> {
    try {
      await this.room.connect(url, token);
    } catch (err) {
      throw new VoiceError("livekit_unreachable", err);
    }
  }

  /**
   * Publishes the microphone opened by `openMicrophone()` (call after `connect()`).
   * @throws VoiceError `livekit_unreachable` when the track cannot be published
   */
  async publishMicrophone(track: LocalAudioTrack): Promise<void> {
    if (track !== this.#microphone) return; // released by disconnect() meanwhile
    try {
      await this.room.localParticipant.publishTrack(track, { source: Track.Source.Microphone });
    } catch (err) {
      throw new VoiceError("livekit_unreachable", err);
    }
  }

  /** The microphone's MediaStreamTrack, for the level meter (null before `openMicrophone()`). */
  get microphoneTrack(): MediaStreamTrack | null {
    return this.#microphone?.mediaStreamTrack ?? null;
  }

  /**
   * Moves the open microphone to another input, published or not (livekit-client `LocalTrack.setDeviceId`: the
   * track is restarted on that device and the sender's track replaced, so the agent hears the new one without a
   * renegotiation; while muted, the move happens on unmute). Reported through `onMicrophoneRestarted`. Does nothing
   * before `openMicrophone()` has resolved. Never throws: when that input cannot be opened (unplugged meanwhile), the
   * browser's default is opened instead; a failure of that too is ignored (the page's microphone then stays silent
   * until the next Start).
   * @param deviceId a `MediaDeviceInfo.deviceId` of an `audioinput`
   */
  async switchMicrophone(deviceId: string): Promise<void> {
    const track = this.#microphone;
    // A bare "default" is only `ideal`: Chromium's default input, and elsewhere (no such id) the browser's choice.
    await track
      ?.setDeviceId({ exact: deviceId })
      .catch(() => track.setDeviceId("default"))
      .catch(() => undefined);
  }

  /** Mutes or unmutes the published microphone (LiveKit tells the other participants). */
  async setMuted(muted: boolean): Promise<void> {
    if (!this.#microphone) return;
    if (muted) await this.#microphone.mute();
    else await this.#microphone.unmute();
  }

  /** Leaves the room and releases the microphone. Idempotent; never throws. */
  async disconnect(): Promise<void> {
    this.#leaving = true;
    this.#microphone?.stop();
    this.#microphone = null;
    for (const el of this.#audio) el.remove();
    this.#audio.clear();
    await this.room.disconnect().catch(() => undefined);
  }
}
