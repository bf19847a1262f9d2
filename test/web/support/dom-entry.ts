// Test bundle: the page script's pure modules, exposed to tests that run them in Chromium.
import { CaptionLog } from "../../../web/src/captions.ts";
import { actionCard, when } from "../../../web/src/actions.ts";
import { audioContext, levelFromSamples } from "../../../web/src/meter.ts";
import { PlanPanel } from "../../../web/src/plan.ts";
import { initialState, reduce } from "../../../web/src/state.ts";
import { TranscriptSocket } from "../../../web/src/transcript-socket.ts";
import { TutorPanel } from "../../../web/src/tutor.ts";
import { findElements, render } from "../../../web/src/view.ts";
import { Visualizer } from "../../../web/src/visualizer.ts";

Object.assign(globalThis, {
  web: {
    actionCard,
    when,
    CaptionLog,
    levelFromSamples,
    initialState,
    reduce,
    PlanPanel,
    TranscriptSocket,
    TutorPanel,
    findElements,
    render,
    audioContext,
    Visualizer,
  },
});
