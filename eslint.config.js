// ESLint flat config: recommended JS + typescript-eslint rules for all TypeScript in the project, and two
// project rules (below). Formatting is Prettier's (`npm run lint` runs `prettier --check` after ESLint).
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";
import { EVENT_NAME } from "./contract/log.ts";

const LOG_METHODS = new Set(["debug", "info", "warn", "error"]);
/** Receivers that are loggers: `log`, `logger`, `this.#log`, `baseLog`, `jobLog`, `opts.log`. */
const LOGGER_NAME = /^(log|logger|\w+Log)$/;

/** The name of a call's receiver, e.g. `log` for `log.info()` and `this.#log.info()`. */
function receiverName(node) {
  if (node.type === "Identifier") return node.name;
  if (node.type === "MemberExpression") return node.property.name ?? null;
  return null;
}

/** Rules of this project (docs/architecture.md, "Logging"; issue: comments cite the repository's own docs). */
const project = {
  rules: {
    "log-event-name": {
      meta: {
        type: "problem",
        docs: { description: "A log call's first argument is a snake_case event name (contract/log.ts)." },
        messages: { notEvent: 'Log event names are snake_case, e.g. "session_started": got "{{name}}".' },
        schema: [],
      },
      create(context) {
        return {
          CallExpression(node) {
            const callee = node.callee;
            if (callee.type !== "MemberExpression" || !LOG_METHODS.has(callee.property.name)) return;
            if (!LOGGER_NAME.test(receiverName(callee.object) ?? "")) return;
            const first = node.arguments[0];
            const name =
              first?.type === "Literal" && typeof first.value === "string"
                ? first.value
                : first?.type === "TemplateLiteral" && first.expressions.length === 0
                  ? first.quasis[0].value.cooked
                  : null;
            if (name !== null && !EVENT_NAME.test(name))
              context.report({ node: first, messageId: "notEvent", data: { name } });
          },
        };
      },
    },
    "docs-in-repository": {
      meta: {
        type: "problem",
        docs: { description: "Comments cite docs inside the repository, never the pre-project shared/ folder." },
        messages: { outside: "This points outside the repository ({{ref}}): cite docs/ instead." },
        schema: [],
      },
      create(context) {
        return {
          Program() {
            for (const comment of context.sourceCode.getAllComments()) {
              const ref = /\bshared\/(?:ARCHITECTURE|LIVEKIT-DEV-SERVER|STYLE)\.md\b/.exec(comment.value)?.[0];
              if (ref) context.report({ loc: comment.loc, messageId: "outside", data: { ref } });
            }
          },
        };
      },
    },
  },
};

export default tseslint.config(
  { ignores: ["node_modules/", "web/dist/", ".wrangler/", "worker/worker-configuration.d.ts", "coverage/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    plugins: { project },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-console": "off",
      "project/log-event-name": "error",
      "project/docs-in-repository": "error",
    },
  },
);
