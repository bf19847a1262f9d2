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

/**
 * Writes `<dir>/<name>-<leadS>s-<totalS>s.wav`: `leadS` seconds of silence, the recording, then silence up to
 * `totalS`. Chromium's fake microphone loops the file, so the words come again every `totalS` seconds.
 * @returns the WAV path (48 kHz mono s16, what Chromium's fake capture plays best), speech at -6 dB
 * @throws Error when sox or the test data are missing (apt: sox, pocketsphinx-testdata)
 */
export function microphoneWav(dir: string, name: keyof typeof RECORDINGS, leadS = 6, totalS = 90): string {
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
