/// <reference lib="dom" />
/**
 * Debian's Chromium driven by playwright-core, with a WAV file as the microphone, and an init script
 * that records what a person would notice on the page (see `Observed`).
 */
import { spawnSync } from "node:child_process";
import type { BrowserContext, Page } from "playwright-core";
import { launchChromium } from "../support/chromium.ts";

const FLAGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"];

/** What the init script records in `window.__e2e`, all times in ms since epoch (page clock). */
export interface Observed {
  /** Every caption node added or whose text changed: role, interim or final, text. */
  captions: { t: number; role: "user" | "agent"; final: boolean; text: string }[];
  /** Every change of a speaking indicator (`#party-user` / `#party-agent` `data-speaking`). */
  speaking: { t: number; who: "user" | "agent"; speaking: boolean }[];
  /** Close codes of the page's WebSockets to `/ws/transcript/`. */
  socketCloses: number[];
  /**
   * Every frame received on the page's transcript sockets that carries a `seq` (transcripts, speech events,
   * session states), in arrival order: `socket` numbers the sockets the page opened (0, 1, …), `status` is a
   * session state message's status, `final` a transcript's.
   */
  frames: { t: number; socket: number; seq: number; role?: string; final?: boolean; status?: string }[];
  /** Every text the page showed as the agent's state (`#agent-state`) and as its status line (`#status`). */
  texts: { t: number; el: "agent-state" | "status"; text: string }[];
  /** When `getUserMedia` resolved: the fake microphone starts playing its file then. */
  microphoneAt: number | null;
  /**
   * Total energy of the audio received over WebRTC so far, sampled every 50 ms (sum of `inbound-rtp`
   * `totalAudioEnergy` over every peer connection; W3C webrtc-stats), measured on the decoded audio as it
   * is played out: it grows while the agent is heard. `p`: audio RTP packets received so far. `jb`, `jn`:
   * `jitterBufferDelay` (s) and `jitterBufferEmittedCount` (samples) so far: their ratio is the mean time a
   * sample waited in the browser's jitter buffer between arrival and playout.
   */
  energy: { t: number; e: number; p: number; jb: number; jn: number }[];
}

/** A launched browser whose microphone plays a WAV file. */
export interface MicBrowser {
  context: BrowserContext;
  page: Page;
  /** Closes the browser and deletes its profile. */
  close(): Promise<void>;
  /** Kills every process of this browser with SIGKILL, as a crash or a closed laptop would. */
  kill(): void;
}

/**
 * Launches Chromium whose microphone plays `wav` in a loop (fresh profile) and opens a page.
 * @param wav path of a WAV file (see audio.ts)
 */
export async function launchWithMicrophone(wav: string): Promise<MicBrowser> {
  const { context, profile, close } = await launchChromium("e2e", {
    flags: [...FLAGS, `--use-file-for-fake-audio-capture=${wav}`],
    permissions: ["microphone"],
  });
  await context.addInitScript(instrument);
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    close,
    kill: () => {
      spawnSync("pkill", ["-KILL", "-f", profile]);
    },
  };
}

/**
 * When received audio energy first grew by more than `threshold` after `from` (ms since epoch), or null.
 * Energy accumulates, so growth means audible sound arrived in that interval.
 */
export function audioOnset(energy: Observed["energy"], from: number, threshold: number): number | null {
  const base = energy.filter((s) => s.t <= from).at(-1)?.e ?? 0;
  return energy.find((s) => s.t > from && s.e - base > threshold)?.t ?? null;
}

/** Reads what the init script has recorded so far. */
export function observed(page: Page): Promise<Observed> {
  return page.evaluate(() => (window as unknown as { __e2e: Observed }).__e2e);
}

// Runs in the page before its own scripts. Must be self-contained (it is serialised).
function instrument(): void {
  const rec: Observed = {
    captions: [],
    speaking: [],
    socketCloses: [],
    frames: [],
    texts: [],
    microphoneAt: null,
    energy: [],
  };
  const w = window as unknown as { __e2e: Observed; __pcs: RTCPeerConnection[] };
  w.__e2e = rec;
  w.__pcs = [];
  const NativePC = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends NativePC {
    constructor(config?: RTCConfiguration) {
      super(config);
      w.__pcs.push(this);
    }
  } as typeof RTCPeerConnection;
  const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const stream = await gum(constraints);
    rec.microphoneAt ??= Date.now();
    return stream;
  };
  setInterval(async () => {
    let e = 0;
    let p = 0;
    let jb = 0;
    let jn = 0;
    for (const pc of w.__pcs) {
      if (pc.connectionState === "closed") continue;
      type Inbound = {
        type: string;
        kind?: string;
        totalAudioEnergy?: number;
        packetsReceived?: number;
        jitterBufferDelay?: number;
        jitterBufferEmittedCount?: number;
      };
      (await pc.getStats()).forEach((s: Inbound) => {
        if (s.type === "inbound-rtp" && s.kind === "audio") {
          e += s.totalAudioEnergy ?? 0;
          p += s.packetsReceived ?? 0;
          jb += s.jitterBufferDelay ?? 0;
          jn += s.jitterBufferEmittedCount ?? 0;
        }
      });
    }
    if (w.__pcs.length) rec.energy.push({ t: Date.now(), e, p, jb, jn });
  }, 50);
  const NativeWS = window.WebSocket;
  let sockets = 0;
  window.WebSocket = class extends NativeWS {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      if (!String(url).includes("/ws/transcript/")) return;
      const socket = sockets++;
      this.addEventListener("close", (e) => rec.socketCloses.push(e.code));
      this.addEventListener("message", (e) => {
        try {
          const m = JSON.parse(String(e.data)) as { seq?: number; role?: string; final?: boolean; status?: string };
          if (typeof m.seq !== "number") return;
          rec.frames.push({ t: Date.now(), socket, seq: m.seq, role: m.role, final: m.final, status: m.status });
        } catch {
          // not JSON (e.g. "pong"): not a transcript frame
        }
      });
    }
  } as typeof WebSocket;
  const text = (el: Element | null) => {
    const id = el?.closest("#agent-state, #status")?.id as "agent-state" | "status" | undefined;
    if (!id) return false;
    const now = document.getElementById(id)?.textContent ?? "";
    if (rec.texts.findLast((x) => x.el === id)?.text !== now) rec.texts.push({ t: Date.now(), el: id, text: now });
    return true;
  };

  const caption = (el: Element) => {
    const item = el.closest(".caption");
    if (!item) return;
    const role = item.classList.contains("caption--agent") ? "agent" : "user";
    const final = !item.classList.contains("caption--interim");
    rec.captions.push({ t: Date.now(), role, final, text: item.querySelector(".caption__text")?.textContent ?? "" });
  };
  new MutationObserver((mutations) => {
    for (const m of mutations) {
      if (m.type === "attributes" && m.attributeName === "data-speaking") {
        const el = m.target as HTMLElement;
        const who = el.id === "party-agent" ? "agent" : "user";
        rec.speaking.push({ t: Date.now(), who, speaking: el.dataset.speaking === "true" });
      } else if (m.type === "childList") {
        if (text(m.target instanceof Element ? m.target : m.target.parentElement)) continue;
        m.addedNodes.forEach((n) => {
          const el = n instanceof Element ? n : n.parentElement;
          if (el) caption(el);
        });
      } else if (m.type === "characterData" && m.target.parentElement) {
        if (!text(m.target.parentElement)) caption(m.target.parentElement);
      }
    }
  }).observe(document, {
    subtree: true,
    childList: true,
    characterData: true,
    attributes: true,
    attributeFilter: ["data-speaking"],
  });
}
