/**
 * The local provider's speech engines: pocketsphinx for speech-to-text, espeak-ng (+ sox) for
 * text-to-speech. Both run as child processes; a missing binary is reported with the Debian packages
 * to install.
 *
 * Languages: pocketsphinx decodes English only (Debian ships no other model); espeak-ng speaks English, or Spanish
 * when {@link speechLanguage} guesses the text is Spanish (OpenAI's speech API has no language parameter: it speaks
 * the text's language, so the stand-in guesses it from the text too).
 *
 * Facts: the pocketsphinx model paths are those of Debian's `pocketsphinx-en-us`
 * (`/usr/share/pocketsphinx/model/en-us`); with them `pocketsphinx_continuous -infile` decodes
 * `pocketsphinx-testdata`'s goforward.raw (16 kHz mono s16le) to "go forward ten meters".
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Sample rate of the PCM16 mono audio `synthesize` returns and the realtime socket carries, Hz. */
export const PCM_RATE = 24_000;
const MODEL = process.env.POCKETSPHINX_MODEL ?? "/usr/share/pocketsphinx/model/en-us";
// First pass only, narrower search: about half the decode time of the defaults. The realtime socket uses it
// for interims and finals alike (CPU is what a busy 2-core host lacks); HTTP transcriptions use the full search.
// Either way each run first loads the model: about 0.5 s of CPU on the 2-core VM before any audio is decoded.
const FAST = ["-fwdflat", "no", "-bestpath", "no", "-maxhmmpf", "3000", "-beam", "1e-40"];

/** A required program is not installed; `message` names the apt packages. */
export class EngineMissingError extends Error {
  override name = "EngineMissingError";
}

const PACKAGES: Record<string, string> = {
  pocketsphinx_continuous: "pocketsphinx pocketsphinx-en-us",
  sox: "sox",
  "espeak-ng": "espeak-ng",
};

/**
 * Runs a program, feeding `input` on stdin.
 * @returns stdout
 * @throws EngineMissingError when the program is not installed; Error on a non-zero exit
 */
function run(cmd: string, args: string[], input: Buffer | null, signal?: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], signal });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") {
        reject(new EngineMissingError(`${cmd} is not installed: apt-get install ${PACKAGES[cmd] ?? cmd}`));
      } else reject(e);
    });
    child.on("close", (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`${cmd} exited with ${code}: ${Buffer.concat(err).toString().slice(-300)}`));
    });
    child.stdin.on("error", () => {}); // a program that exits early closes its stdin
    child.stdin.end(input ?? undefined);
  });
}

/** Less sound than this (0.1 s of PCM16 mono at 16 kHz, in bytes) is not worth a decode. */
const MIN_SPEECH_BYTES = 3200;
/** Digital silence {@link trimSilence} puts before and after the sound, seconds and bytes at 16 kHz. */
const TRIM_PAD_S = 0.3;
const TRIM_PAD_BYTES = TRIM_PAD_S * 16_000 * 2;

/**
 * Runs sox in repeatable mode (`-R`). sox dithers whenever an effect or a rate change ends in 16-bit output, by
 * default with a random seed per run, so the same input gave different samples every time, and pocketsphinx
 * now and then different words (1 decode in 12 of the same lossy utterance). `-R` seeds the dither the same way
 * every run. The dither itself stays: without it the digital silence around an utterance stays exactly zero,
 * which skews pocketsphinx's cepstral mean, and the e2e recording decoded as "go forward ten years" every time.
 */
function sox(args: string[], input: Buffer | null, signal?: AbortSignal): Promise<Buffer> {
  return run("sox", ["-R", ...args], input, signal);
}

const SOX_RAW = (rate: number) => ["-t", "raw", "-r", String(rate), "-e", "signed", "-b", "16", "-c", "1"];

/**
 * Resamples PCM16 mono audio with sox.
 * @param pcm little-endian signed 16-bit samples at `fromRate` Hz
 * @returns the same audio at `toRate` Hz
 */
export function resample(pcm: Buffer, fromRate: number, toRate: number, signal?: AbortSignal): Promise<Buffer> {
  if (fromRate === toRate) return Promise.resolve(pcm);
  return sox([...SOX_RAW(fromRate), "-", ...SOX_RAW(toRate), "-"], pcm, signal);
}

/**
 * Transcribes speech with pocketsphinx.
 * @param pcm16k PCM16 mono at 16 kHz (any other format: convert first, e.g. with {@link resample} or {@link toPcm16k})
 * @param options `fast`: a first-pass-only search, faster and less accurate (the realtime socket's choice)
 * @returns the recognised words, lower case, space-separated ("" for silence, without running pocketsphinx
 *   when nothing louder than -46 dBFS is left after trimming)
 * @throws EngineMissingError when pocketsphinx is not installed
 */
export async function transcribe(
  pcm16k: Buffer,
  options: { fast?: boolean; signal?: AbortSignal } = {},
): Promise<string> {
  const { fast = false, signal } = options;
  if (pcm16k.length < MIN_SPEECH_BYTES) return "";
  const speech = await trimSilence(pcm16k, signal);
  if (speech.length < MIN_SPEECH_BYTES + 2 * TRIM_PAD_BYTES) return ""; // silence: only the padding is left
  const dir = await mkdtemp(join(tmpdir(), "openai-dev-stt-"));
  try {
    const file = join(dir, "audio.raw");
    await writeFile(file, speech);
    const out = await run(
      "pocketsphinx_continuous",
      [
        "-infile",
        file,
        "-hmm",
        `${MODEL}/en-us`,
        "-lm",
        `${MODEL}/en-us.lm.bin`,
        "-dict",
        `${MODEL}/cmudict-en-us.dict`,
        "-logfn",
        "/dev/null",
        ...(fast ? FAST : []),
      ],
      null,
      signal,
    );
    return out
      .toString("utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean)
      .join(" ");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Cuts leading and trailing silence (below -46 dBFS) and pads each side with {@link TRIM_PAD_S} of digital
 * silence. Why: audio can start and end with seconds of near-silence, often faint noise after resampling, and
 * pocketsphinx then segments and normalises badly (goforward.raw behind 8 s of resampled silence decodes as
 * "oh sure years"; trimmed, as "go forward ten meters"). Noise above -46 dBFS is not cut here; the realtime
 * socket has already dropped what is not speech (realtime.ts).
 * @param pcm16k PCM16 mono at 16 kHz
 * @returns the trimmed, padded audio (the padding alone when it is all silence)
 */
function trimSilence(pcm16k: Buffer, signal?: AbortSignal): Promise<Buffer> {
  const trim = ["silence", "1", "0.05", "0.5%", "reverse", "silence", "1", "0.05", "0.5%", "reverse"];
  const pad = ["pad", String(TRIM_PAD_S), String(TRIM_PAD_S)];
  return sox([...SOX_RAW(16_000), "-", ...SOX_RAW(16_000), "-", ...trim, ...pad], pcm16k, signal);
}

/**
 * Converts any audio file sox understands (WAV, FLAC, …) to PCM16 mono 16 kHz.
 * @param file the encoded file's bytes; `ext` its type for sox (e.g. "wav")
 */
export function toPcm16k(file: Buffer, ext: string): Promise<Buffer> {
  return sox(["-t", ext, "-", ...SOX_RAW(16_000), "-"], file);
}

/** The languages the stand-in speaks: {@link speechLanguage}'s answers. */
export type SpeechLanguage = "en" | "es";

/**
 * The espeak-ng voice of each language the stand-in speaks (`espeak-ng --voices`): English is espeak-ng's default
 * voice (`en`, no `-v`), Spanish its `es` voice (Spanish of Spain, in the `espeak-ng-data` package).
 */
export const ESPEAK_VOICES: Readonly<Record<SpeechLanguage, string>> = { en: "en", es: "es" };

/** Letters and marks that English text does not use and Spanish does; each counts twice in {@link speechLanguage}. */
const SPANISH_MARKS = /[¿¡ñáéíóúü]/giu;
/** Common Spanish words that are not English words (so not "a", "no", "me", "he"). */
const SPANISH_WORDS = new Set(
  "el la los las que qué de del y en un una es está por para con hola gracias cómo como puedo ayudarte tu tú yo lo se su al muy pero más".split(
    " ",
  ),
);
/** Common English words that are not Spanish words. */
const ENGLISH_WORDS = new Set(
  "the and is are you i to of it what how can help this that with for your hello hi do not from".split(" "),
);

/**
 * Guesses the language of a text to speak, between English and Spanish (the stand-in's voices): Spanish when its
 * Spanish marks (`¿ ¡ ñ á é í ó ú ü`, two points each) and common Spanish words ("el", "la", "que", "hola", …, one
 * point each) outscore its common English words ("the", "you", "is", …); else English. A heuristic for development
 * only: the real API speaks whatever language the text is in.
 * @param text the text to speak
 * @returns `es` or `en`
 */
export function speechLanguage(text: string): SpeechLanguage {
  let spanish = (text.match(SPANISH_MARKS)?.length ?? 0) * 2;
  let english = 0;
  for (const word of text.toLowerCase().match(/\p{L}+/gu) ?? []) {
    if (SPANISH_WORDS.has(word)) spanish++;
    else if (ENGLISH_WORDS.has(word)) english++;
  }
  return spanish > english ? "es" : "en";
}

/**
 * Speaks text with espeak-ng.
 * @param text what to say (read from stdin, so no text is taken for an option)
 * @param language the voice's language ({@link ESPEAK_VOICES}); default English
 * @returns PCM16 mono at {@link PCM_RATE} Hz
 * @throws EngineMissingError when espeak-ng or sox is not installed
 */
export async function synthesize(text: string, signal?: AbortSignal, language: SpeechLanguage = "en"): Promise<Buffer> {
  const voice = language === "en" ? [] : ["-v", ESPEAK_VOICES[language]];
  const wav = await run("espeak-ng", [...voice, "--stdin", "--stdout", "-s", "175"], Buffer.from(text, "utf8"), signal);
  return sox(["-t", "wav", "-", ...SOX_RAW(PCM_RATE), "-"], wav, signal);
}
