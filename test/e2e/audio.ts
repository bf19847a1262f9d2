/**
 * Microphone recordings for the e2e tests: real recorded human speech from Debian's
 * pocketsphinx-testdata (16 kHz mono s16le raw), converted to WAV with sox and padded with silence, so
 * that Chromium's looping fake microphone (`--use-file-for-fake-audio-capture`) says the sentence once
 * per loop, after the agent's greeting has had time to play.
 *
 * The speech is played at half its recorded level: Chromium's automatic gain control raises its gain
 * during the seconds of silence before the words (about 6x), and at full level the words then clip
 * (peak 0.995 seen), which makes pocketsphinx mishear them now and then ("go forward and majors").
 * At half level the peak stays near 0.6.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";

export const TESTDATA = "/usr/share/pocketsphinx/test/data";

/** The recordings the tests use and what is said in them. */
export const RECORDINGS = {
  goforward: { raw: `${TESTDATA}/goforward.raw`, words: "go forward ten meters" },
  something: { raw: `${TESTDATA}/something.raw`, words: "go somewhere and do something" },
} as const;

export type RecordingName = keyof typeof RECORDINGS;

/**
 * Which recording recognised speech is: the one whose sentence is closest to some stretch of `text`, in
 * letters (edit distance, free of charge before and after the stretch, so that stray words and the agent's
 * "I heard you say …" do not count), when that distance is at most half the sentence's length and smaller than
 * any other recording's; else null.
 *
 * Why not the exact sentence: the stand-in STT is pocketsphinx, and what it gets has gone through Chromium's
 * fake capture, Opus and WebRTC. When the 2-core host is saturated (CI runs every test project at once),
 * capture glitches change the audio and pocketsphinx mishears a word or two, e.g. "go forward and the ears"
 * for "go forward ten meters" (the utterance arrived 0.4 s longer than usual). The tests check that the
 * visitor's own speech reached the agent and came back as captions, not pocketsphinx's accuracy. Letters
 * rather than words: a misheard word is usually close in sound and spelling, and common words ("go",
 * "and") would make word counts tie. Silence, noise or the other visitor's audio give null or the other name.
 * @param text a caption or stored transcript text
 */
export function heardRecording(text: string): RecordingName | null {
  const said = letters(text);
  const scores = (Object.keys(RECORDINGS) as RecordingName[])
    .map((name) => {
      const sentence = letters(RECORDINGS[name].words);
      return { name, distance: distanceWithin(sentence, said), limit: sentence.length / 2 };
    })
    .sort((a, b) => a.distance - b.distance);
  const [best, second] = scores;
  return best && best.distance <= best.limit && (!second || best.distance < second.distance) ? best.name : null;
}

/** Lower-case letters and single spaces. */
function letters(text: string): string {
  return (text.toLowerCase().match(/[a-z']+/g) ?? []).join(" ");
}

/** Smallest edit distance between `needle` and any substring of `haystack` (semi-global alignment). */
function distanceWithin(needle: string, haystack: string): number {
  // row[j]: distance of needle[0..i) to the best substring of haystack ending at j; starting anywhere is free.
  let row = new Array<number>(haystack.length + 1).fill(0);
  for (let i = 1; i <= needle.length; i++) {
    const next = [i];
    for (let j = 1; j <= haystack.length; j++) {
      const substitute = row[j - 1]! + (needle[i - 1] === haystack[j - 1] ? 0 : 1);
      next.push(Math.min(substitute, row[j]! + 1, next[j - 1]! + 1));
    }
    row = next;
  }
  return Math.min(...row);
}

/**
 * Writes `<dir>/<name>-<leadS>s-<totalS>s.wav`: `leadS` seconds of silence, the recording, then silence up to
 * `totalS`. Chromium's fake microphone loops the file, so the words come again every `totalS` seconds.
 * @returns the WAV path (48 kHz mono s16, what Chromium's fake capture plays best), speech at -6 dB
 * @throws Error when sox or the test data are missing (apt: sox, pocketsphinx-testdata)
 */
export function microphoneWav(dir: string, name: RecordingName, leadS = 6, totalS = 90): string {
  const { raw } = RECORDINGS[name];
  if (!existsSync(raw)) throw new Error(`${raw} is missing: apt-get install pocketsphinx-testdata`);
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${name}-${leadS}s-${totalS}s.wav`);
  execFileSync("sox", [
    "-V1",
    "-R", // repeatable: the same dither, so the same file, every run
    "-t",
    "raw",
    "-r",
    "16000",
    "-e",
    "signed",
    "-b",
    "16",
    "-c",
    "1",
    raw,
    "-r",
    "48000",
    out,
    // pad then trim: the file is exactly totalS long, speech after leadS, silence to the end.
    "vol",
    "0.5",
    "pad",
    String(leadS),
    "0",
    "pad",
    "0",
    String(totalS),
    "trim",
    "0",
    String(totalS),
  ]);
  return out;
}

/**
 * A silent microphone: `totalS` seconds of digital silence (Chromium's fake capture loops it), for a visitor who
 * types instead of speaking.
 * @returns the WAV path (48 kHz mono s16)
 * @throws Error when sox is missing (apt: sox)
 */
export function silentWav(dir: string, totalS = 10): string {
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `silence-${totalS}s.wav`);
  execFileSync("sox", ["-V1", "-n", "-r", "48000", "-c", "1", "-b", "16", out, "trim", "0", String(totalS)]);
  return out;
}
