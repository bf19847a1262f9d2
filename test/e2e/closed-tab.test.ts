/**
 * E2E 3: a visitor's browser disappears without Stop (killed, so not even `pagehide` runs): the session
 * ends within CLIENT_GRACE_S + 10 s and the LiveKit room is deleted.
 * (OpenAI is replaced by the local stand-in provider; everything else is real.)
 */
import { afterEach, describe, expect, inject, it } from "vitest";
import { microphoneWav } from "./audio.ts";
import { launchWithMicrophone, observed, type MicBrowser } from "./browser.ts";
import { E2E_CLIENT_GRACE_S } from "./stack.ts";
import { waitFor } from "../support/wait.ts";
import { openRooms, poll, readTranscript } from "./support.ts";

describe.skipIf(!process.env.NETNS_ADDR)("a tab closed without Stop", () => {
  let b: MicBrowser | undefined;
  afterEach(async () => b?.close());

  it(`ends the session within CLIENT_GRACE_S + 10 s and deletes the room`, async () => {
    const workerUrl = inject("workerUrl");
    b = await launchWithMicrophone(microphoneWav(inject("stackDir"), "goforward", 30));
    const { page, context } = b;
    await page.goto(`${workerUrl}/chat`);
    const created = page.waitForResponse((r) => r.url().endsWith("/session") && r.request().method() === "POST");
    await page.getByRole("button", { name: "Start" }).click();
    const { session_id: sessionId } = (await (await created).json()) as { session_id: string };
    const greeting = async () => (await observed(page)).captions.find((c) => c.role === "agent");
    await waitFor("the agent's greeting", greeting, poll());
    const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
    const { room, status } = await readTranscript(workerUrl, sessionId, cookie);
    expect(status).toBe("active");

    b.kill();
    const goneAt = Date.now();
    const limitMs = (E2E_CLIENT_GRACE_S + 10) * 1000;
    const ended = await waitFor(
      "the session to end",
      async () => {
        const t = await readTranscript(workerUrl, sessionId, cookie);
        return t.status === "ended" && t;
      },
      poll(limitMs),
    );
    expect(ended.ended_at).not.toBeNull();
    const roomGone = async () => !(await openRooms(inject("liveKitUrl"))).includes(room);
    await waitFor("the room to be deleted", roomGone, poll(limitMs - (Date.now() - goneAt)));
    console.log(
      `[e2e figures] browser killed → session ended: ${ended.ended_at! - goneAt} ms (reason ${ended.reason})`,
    );
  });
});
