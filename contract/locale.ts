/**
 * English issue messages for the contract's schemas (e.g. "Too big: expected string to have <=64
 * characters"), which the Worker returns in its 400 bodies.
 *
 * Why: `zod/mini` registers no locale, so every built-in message would read "Invalid input"; classic
 * zod registers English on first use. Registering it here keeps the messages the same in every process
 * that loads the contract, whichever zod flavour it also loads. A locale the application configured
 * first wins (the same rule classic zod follows).
 */
import en from "zod/v4/locales/en.js";
import * as z from "zod/mini";

// The single locale module, not `z.locales`: that namespace would bring every language into the page.
if (!z.config().localeError) z.config(en());
