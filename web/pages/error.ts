/**
 * Error pages of browser routes (404, 403, …): the status, a human sentence, and a way back.
 */
import { html } from "hono/html";
import { layout, type Html } from "./layout.ts";

const TITLES: Record<number, string> = {
  400: "That request didn't look right",
  403: "This page isn't available to you",
  404: "Page not found",
  429: "Too many requests",
};

/** The error page body. */
export function errorPage(status: number, message: string): Html {
  const title = TITLES[status] ?? (status >= 500 ? "Something went wrong" : "This page can't be shown");
  return layout({
    title: `${title} · Voice agent`,
    pageClass: "page--error",
    body: html`<section class="error-page">
<p class="error-page__status">Error ${status}</p>
<h1>${title}</h1>
<p class="lede">${message}</p>
<p><a class="btn btn--primary" href="/">Go to the home page</a> <a class="btn" href="/chat">Talk to the agent</a></p>
</section>`,
  });
}
