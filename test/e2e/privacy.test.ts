/**
 * GitHub issue #11, finding 4, through the whole stack at the default log level: after a visitor's conversation
 * (real Chromium with recorded speech, the Worker and Durable Objects under wrangler dev, the dev LiveKit server,
 * the real agent, the local OpenAI stand-in), no component's output (the stack log: `[agent]`, `[worker]`,
 * `[livekit]`, `[openai]`, `[ingest-proxy]`) holds a word of the conversation, the visitor's token or cookie, a
 * signature, or a secret. `LOG_LEVEL=debug` and the opt-in are test/agent/log-privacy.test.ts.
 */
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, inject, it } from "vitest";
import { SessionCreateResponse } from "../../contract/index.ts";
import { JWT, linesWith, SIGNATURE } from "../agent/log-search.ts";
import { waitFor } from "../support/wait.ts";
import { microphoneWav } from "./audio.ts";
import { launchWithMicrophone, type MicBrowser, observed } from "./browser.ts";
import { poll } from "./support.ts";

/** The OpenAI key `npm run dev` gives the agent with the stand-in (dev/run.ts). */
const STAND_IN_OPENAI_KEY = "sk-local-stand-in";

describe.skipIf(!process.env.NETNS_ADDR)("conversation text and secrets in the stack's logs", () => {
  let b: MicBrowser | undefined;
  afterEach(async () => b?.close());

  it("holds none of them after a conversation at the default level", async () => {
    b = await launchWithMicrophone(microphoneWav(inject("stackDir"), "goforward", 8));
    const { page } = b;
    await page.goto(`${inject("workerUrl")}/chat`);
    const created = page.waitForResponse((r) => r.url().endsWith("/session") && r.request().method() === "POST");
    await page.getByRole("button", { name: "Start" }).click();
    const res = await created;
    expect(res.status()).toBe(201);
    const {
      session_id: sessionId,
      livekit: { token },
    } = SessionCreateResponse.parse(await res.json());

    // The visitor's words, and the agent's answer to them.
    const finals = async () => (await observed(page)).captions.filter((c) => c.final);
    const userFinal = await waitFor(
      "the visitor's final caption",
      async () => (await finals()).find((c) => c.role === "user"),
      poll(90_000),
    );
    const answer = async () => (await finals()).find((c) => c.role === "agent" && c.t > userFinal.t);
    await waitFor("the agent's answer caption", answer, poll());
    const said = (await finals()).map((c) => c.text).filter((t) => t.length >= 8);
    const cookie = (await b.context.cookies()).find((c) => c.name === "vid")?.value;
    expect(cookie).toBeTruthy();

    // Stop, and let every component log the end (the agent's job_ended comes last).
    await page.getByRole("button", { name: "Stop" }).click();
    const log = () => readFileSync(inject("stackLog"), "utf8");
    const jobEnded = () =>
      log()
        .split("\n")
        .some((l) => l.includes(sessionId) && l.includes('"msg":"job_ended"'));
    await waitFor("the agent's job to end", jobEnded, poll(30_000));

    const output = log();
    expect(said.length).toBeGreaterThanOrEqual(3); // the greeting, the visitor's words, the answer
    for (const text of [...said, "I heard you say"]) expect(linesWith(output, text), text).toEqual([]);
    expect(linesWith(output, /lk\.pii\./)).toEqual([]);
    const { ingestSecret, cookieSecret } = inject("stackSecrets");
    const secrets = { token, cookie: cookie!, ingestSecret, cookieSecret, openaiKey: STAND_IN_OPENAI_KEY };
    for (const [name, value] of Object.entries(secrets)) expect(linesWith(output, value), name).toEqual([]);
    expect(linesWith(output, JWT)).toEqual([]);
    expect(linesWith(output, SIGNATURE)).toEqual([]);
  });
});
