// The shape of `window.web` (support/dom-entry.ts) as seen from page.evaluate callbacks.
import type { CaptionLog } from "../../../web/src/captions.ts";
import type { actionCard, when } from "../../../web/src/actions.ts";
import type { audioContext, levelFromSamples } from "../../../web/src/meter.ts";
import type { PlanPanel } from "../../../web/src/plan.ts";
import type { initialState, reduce } from "../../../web/src/state.ts";
import type { TranscriptSocket } from "../../../web/src/transcript-socket.ts";
import type { TutorPanel } from "../../../web/src/tutor.ts";
import type { findElements, render } from "../../../web/src/view.ts";
import type { Visualizer } from "../../../web/src/visualizer.ts";

export interface WebModules {
  actionCard: typeof actionCard;
  when: typeof when;
  CaptionLog: typeof CaptionLog;
  levelFromSamples: typeof levelFromSamples;
  initialState: typeof initialState;
  reduce: typeof reduce;
  PlanPanel: typeof PlanPanel;
  TranscriptSocket: typeof TranscriptSocket;
  TutorPanel: typeof TutorPanel;
  findElements: typeof findElements;
  render: typeof render;
  audioContext: typeof audioContext;
  Visualizer: typeof Visualizer;
}

declare global {
  var web: WebModules;
}
