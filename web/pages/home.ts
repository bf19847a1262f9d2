/**
 * `/`: what this is, and the way into `/chat`.
 */
import { html } from "hono/html";
import { DEFAULT_RETENTION_DAYS } from "../../contract/index.ts";
import { primaryLanguage } from "../i18n/index.ts";
import { retentionText } from "./conversations.ts";
import { layout, type Html } from "./layout.ts";

/** An agent the home page offers besides the default one: its profile id and display name. */
export interface HomeAgent {
  id: string;
  name: string;
  /**
   * Its profile's `language` (BCP 47): a link to an agent in another language than English says so (`lang` for its
   * name, `hreflang` for its page), e.g. "Asistente". Default `en`.
   */
  language?: string | undefined;
}

/** ` lang="…" hreflang="…"` for a link to an agent that speaks another language than English, else nothing. */
function agentLang(agent: HomeAgent): Html | "" {
  const tag = agent.language;
  return tag && primaryLanguage(tag) !== "en" ? html` lang="${tag}" hreflang="${tag}"` : "";
}

/**
 * The home page body. Under Start, "Or talk with: <agent> · <agent>", links to `/chat?agent=<id>` for `agents`
 * (none: no line). Its privacy line states the policy: what is stored (transcripts and summaries, no audio; the
 * visitor's first name when they give one, and their lesson progress), for how long (`retentionDays`,
 * `RETENTION_DAYS`; 0 keeps them until deleted), and that the visitor deletes one or all at `/history`.
 */
export function homePage(retentionDays: number = DEFAULT_RETENTION_DAYS, agents: readonly HomeAgent[] = []): Html {
  return layout({
    title: "Voice agent",
    pageClass: "page--home",
    body: html`<section class="hero">
<h1>Talk to this website</h1>
<p class="lede">A voice assistant you can simply speak with. It listens, answers out loud, and shows what both of you say as live captions.</p>
<p><a class="btn btn--primary btn--large" href="/chat">Start a conversation</a></p>
${agents.length > 0 ? html`<p class="agents" id="agents">Or talk with: ${agents.map((a, i) => html`${i > 0 ? " · " : ""}<a href="/chat?agent=${a.id}"${agentLang(a)}>${a.name}</a>`)}</p>` : ""}
</section>
<ul class="features">
<li><h2>Just talk</h2><p>Press Start, allow your microphone, and speak. Interrupt the agent whenever you like.</p></li>
<li><h2>Live captions</h2><p>Your words and the agent's replies appear as text while you speak, for reading along or re-reading later.</p></li>
<li><h2>Private by design</h2><p>Only you can open your conversations. Stop ends one at once, and you can delete them whenever you like.</p></li>
</ul>
<p class="privacy" id="privacy">What is kept: the transcript of each conversation and a short summary of it, never the audio; your first name if you give one, and your progress in lessons. ${retentionText(retentionDays)} You can delete one or all of them at any time in <a href="/history">your conversations</a>.</p>`,
  });
}
