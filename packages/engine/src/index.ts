/**
 * @lab/engine — lab's orchestration as a library (adr/0140-engine-boundary.md).
 *
 * Everything `lab` does across layers lives here: the layer registry and its runs (plan, apply,
 * destroy), `up` and `down`, drift across layers, rebuild, capture runs, the journal, the
 * generated docs, the embedded simulator's lifecycle and the snapshot guard. A caller hands it an
 * `EngineEnv` (the lab directory and a Reporter); the engine emits events through the Reporter,
 * returns results, never writes to a terminal and never exits the process. The CLI
 * (`@lab/cli`) is one such caller: it parses arguments, asks, and renders.
 *
 * Dependency direction: cli → engine → layers (l0…l4, capture) → shared (core, intent, pve, ssh,
 * secrets, pve-sim).
 */

export type { EngineEnv } from './env.js';
export { LAB_VERSION } from './version.js';

// Layers: the contract, the registry, a session, and the one mutating path.
export type { LayerAdapter, LayerContext, LayerFlags, ProxmoxEndpoint } from './layers/adapter.js';
export { createLayerContext } from './layers/context.js';
export type { LayerSession, SessionOptions } from './layers/context.js';
export { availableLayers, LAYER_ORDER, loadLayer } from './layers/registry.js';
export { applyLayers, planLayers, prepare } from './layers/run.js';
export type { LayerRunArgs, Prepared } from './layers/run.js';
export { mutateLayers } from './layers/mutate.js';
export type { MutateOptions, MutateResult } from './layers/mutate.js';
export { selectLayers, selectPersonas } from './layers/select.js';
export { expandHome, guestAddress, guestConnection } from './layers/guest-ssh.js';
export { LAB_TOKEN_ID, LAB_TOKEN_SECRET, resolveProxmox } from './layers/proxmox.js';
export { pveClientOf } from './layers/pve-client.js';
export { IMAGE_ENV, imageClient, imageSelection } from './layers/l1.js';
export { ADMIN_ENV } from './layers/l0.js';

// Snapshot guard of `lab apply --snapshot` (adr/0131).
export { dropGuardSnapshots, guardSnapshotName, personasChangedInGuest, revertGuardSnapshots, takeGuardSnapshots, withGuardSnapshots } from './snapshot-guard.js';
export type { GuardSnapshot } from './snapshot-guard.js';

// `lab up` / `lab down`.
export { GUEST_LAYERS, layerTitle, planUp, scoped, withoutUnreachableGuests } from './up/plan.js';
export type { LayerPreview, SkippedLayer, UpPreview } from './up/plan.js';
export { planDown, refuseProtected } from './up/down.js';
export type { DownPlan } from './up/down.js';
export { capturesAsked, planReap, planReapCaptures } from './up/reap.js';
export type { ReapCapturePorts } from './up/reap.js';
export { guestReach } from './up/guests.js';
export type { GuestReach } from './up/guests.js';
export { runLayers } from './up/run-layers.js';
export type { LayerOutcome, LayerStatus, LayerStep, LayersRun } from './up/run-layers.js';
export { renderOutcomes, showPreview, totalLine } from './up/summary.js';
export { waitForGuests } from './up/wait-guests.js';
export type { WaitOptions } from './up/wait-guests.js';

// Orphans: lab-managed VMs whose persona left Git.
export { destroyOrphan, driftOrphans, findLabOrphans } from './orphans.js';
export type { DestroyOrphanOptions } from './orphans.js';

// Drift across layers.
export { checkDrift } from './drift/check.js';
export type { DriftCheckOptions } from './drift/check.js';
export { DRIFT_LAYERS, driftDetails, driftedCount, summarize } from './drift/report.js';
export type { DriftField, DriftItem, DriftLayer, DriftReport, LayerDrift, OrphanItem, PersonaDrift, Verdict } from './drift/report.js';
export { DRIFT_FORMATS, headline, renderReport } from './drift/render.js';
export type { DriftFormat } from './drift/render.js';

// Rebuild.
export { rebuildPorts } from './rebuild/ports.js';
export { planRebuild, runRebuild } from './rebuild/run.js';
export type { RebuildOptions, RebuildPorts, RebuildStepPlan } from './rebuild/run.js';
export { clearRebuildState, loadRebuildState, REBUILD_STEPS, rebuildStateFile, saveRebuildState } from './rebuild/state.js';
export type { RebuildState, RebuildStep } from './rebuild/state.js';

// Capture runs.
export { captureData, captureDataFor, dataSnapshots, replicatePersonaData, restoreDataFor, restorePersonaData, verifyData } from './capture/data.js';
export type { DataRun, DataSnapshots, RestoreDataOptions, VerifyDataOptions } from './capture/data.js';
export { captureTemplate, captureVmInSession, captureVms, restoreVm, vmBackups } from './capture/vm.js';
export type { CaptureTemplateOptions, CaptureVmsOptions, RestoreVmOptions, VmCaptureRow } from './capture/vm.js';
export { captureJobs, renderJobUnits, writeJobUnits } from './capture/timers.js';
export type { CaptureJob } from './capture/timers.js';

// `lab init`: make a checkout the operator's own (adr/0181).
export { initLab } from './init/own-lab.js';
export type { FileAction, InitOptions, InitResult, InitSecret } from './init/own-lab.js';
export { generateSecretValue, secretShape, shapeProblem } from './init/secret-values.js';
export type { GeneratedSecret, SecretShape } from './init/secret-values.js';

// The journal and what is computed from it.
export * from './journal/index.js';
export { METRIC_NAMES, renderMetrics } from './journal/metrics.js';

// Generated docs.
export { ensureLocalImages, labStandIns, localImagesOverrides } from './images/local.js';
export type { EnsureLocalImagesOptions, LocalImage, LocalImagesResult, StandInUse } from './images/local.js';

export { diffDocs, DOCS_DIR, generateDocs, writeDocs } from './docs-gen/index.js';
export type { DocsDiff, GeneratedDoc } from './docs-gen/index.js';
export { renderGraph } from './docs-gen/graph.js';

// The embedded simulator's lifecycle.
export { startEmbedded } from './sim/embedded.js';
export type { EmbeddedOptions, EmbeddedSim, GuestMode } from './sim/embedded.js';
export { standInsFor } from './sim/stand-ins.js';
export { openGuest } from './guest/shell.js';
export type { GuestHandle, GuestRunOptions } from './guest/shell.js';

// The status page (`lab serve`, adr/0190-status-page-server.md).
export { startServer, tokenMatches } from './serve/server.js';
export type { LabServer, ServeOptions } from './serve/server.js';
export { readLabView } from './serve/load.js';
export type { LabView, PersonaRow } from './serve/load.js';
export { GRID_COLUMNS, labGrid, layerCell, captureCell, drillState } from './serve/status.js';
export type { Cell, CellState, GridRow, Observation } from './serve/status.js';
export { cellText } from './serve/pages.js';
export { startEmbeddedLabOver } from './sim/start-over.js';
