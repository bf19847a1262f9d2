/**
 * Keeps the framework from starting a shared inference process for an end-of-turn model this agent never uses.
 *
 * Upstream behaviour (@livekit/agents 1.9.0, `src/worker.ts`): the `AgentServer` constructor calls
 * `maybeRegisterLocalEotRunner()`, which registers the local audio end-of-turn model (`lk_eot_audio`, from
 * `src/inference/eot/runner.ts`) in `InferenceRunner.registeredRunners` whenever the native binding
 * `@livekit/local-inference` loads, unless that key is already set. Right after,
 * `InferenceProcExecutor.createIfNeeded()` (`src/ipc/inference_proc_executor.ts`) creates an inference process
 * whenever `Object.keys(registeredRunners)` is not empty, and `AgentServer.run()` starts it (and waits for it)
 * before the job process pool. Turns here are detected by the VAD, so that process would only cost memory and
 * start-up CPU (figures in docs/agent.md, "No local end-of-turn model"). No upstream issue about it was found.
 *
 * The adaptation sets `registeredRunners.lk_eot_audio` before the server is constructed, as a non-enumerable
 * property: the registration sees the key and returns, and `Object.keys` (hence `createIfNeeded`) does not, so no
 * inference process is created. Apply it before `new AgentServer(...)`; afterwards it is too late (the check says so).
 */
import { type Adaptation, expectType } from "./adaptation.ts";

/** `EOT_INFERENCE_METHOD` of @livekit/agents 1.9.0 (`src/inference/eot/runner.ts`; not exported). */
export const EOT_INFERENCE_METHOD = "lk_eot_audio";

/** What the key holds instead of the runner's module URL. */
const PLACEHOLDER = "not used: turns are detected by the VAD (agent/framework/eot-runner.ts)";

/** The part of @livekit/agents 1.9.0's `InferenceRunner` class this relies on. */
interface InferenceRunnerStatics {
  registeredRunners: Record<string, string>;
  registerRunner(method: string, importPath: string): void;
}

/** The adaptation `skip_local_eot_runner`, applied to the framework's exported `InferenceRunner` class. */
export function skipLocalEotRunner(): Adaptation<unknown> {
  return {
    name: "skip_local_eot_runner",
    missing(runnerClass) {
      const statics = runnerClass as Partial<InferenceRunnerStatics> | undefined;
      const missing = expectType(statics?.registeredRunners, "object", "InferenceRunner.registeredRunners");
      missing.push(...expectType(statics?.registerRunner, "function", "InferenceRunner.registerRunner"));
      const runners = statics?.registeredRunners;
      if (runners && Object.keys(runners).includes(EOT_INFERENCE_METHOD)) {
        const late = `InferenceRunner.registeredRunners without ${EOT_INFERENCE_METHOD} (apply before new AgentServer)`;
        missing.push(late);
      }
      return missing;
    },
    apply(runnerClass) {
      const runners = (runnerClass as InferenceRunnerStatics).registeredRunners;
      if (Object.hasOwn(runners, EOT_INFERENCE_METHOD)) return;
      const placeholder = { value: PLACEHOLDER, enumerable: false, configurable: true };
      Object.defineProperty(runners, EOT_INFERENCE_METHOD, placeholder);
    },
  };
}
