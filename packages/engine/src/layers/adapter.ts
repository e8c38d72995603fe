import type { Layer, Plan, PlanMode, Reporter } from '@lab/core';
import type { Lab, LoadedPersona } from '@lab/intent';
import type { SecretStore } from '@lab/secrets';

/** Flags of the layer verbs that a layer may honour. */
export interface LayerFlags {
  /** Apply changes that need a guest reboot (L2) and reboot. */
  readonly allowReboot: boolean;
  /** Allow deleting persistent data disks and volumes. */
  readonly destroyData: boolean;
  /** Restrict to these addresses (prefix match), like Terraform's -target. */
  readonly targets: readonly string[];
  /** L2: take over persona locks held by other lab processes (`--break-lock`). */
  readonly breakLock?: boolean;
  /** L1: only these images (`debian-12` or `debian-12@<version>`). */
  readonly images?: readonly string[];
}

/**
 * How a Proxmox endpoint is reached, resolved by the engine from lab.yaml (`embedded` starts the
 * simulator in-process). Layers get it ready-made and never read credentials themselves.
 */
export interface ProxmoxEndpoint {
  readonly url: string;
  /** SHA-256 fingerprint of the server certificate, colon-separated hex. */
  readonly fingerprint: string | undefined;
  readonly tokenId: string;
  readonly tokenSecret: import('@lab/core').Secret<string>;
  readonly embedded: boolean;
  /** The node's SSH jump host, when the CLI knows it (the embedded simulator's, with its host key). */
  readonly jumpHost?: { readonly host: string; readonly port: number; readonly username: string; readonly hostPublicKey?: string };
  /** Administrator credentials, known only for the embedded simulator (L0 apply uses them). */
  readonly admin?: { readonly tokenId: string; readonly tokenSecret: import('@lab/core').Secret<string> };
  /** Client settings from lab.yaml (`proxmox.connections`, `proxmox.taskSilenceTimeout`): spread into createPveClient. */
  readonly tuning?: { readonly connections: number; readonly taskWait: { readonly silenceMs: number } };
}

export interface LayerContext {
  readonly lab: Lab;
  /** The personas this run is about (all of them for site layers with --all). */
  readonly personas: readonly LoadedPersona[];
  readonly reporter: Reporter;
  readonly labVersion: string;
  readonly flags: LayerFlags;
  /**
   * Shows the operator a secret exactly once, outside every log and journal (the CLI writes it
   * to the terminal). Absent when nobody can be shown it.
   */
  readonly reveal?: (text: string) => void;
  /** Opened on first use; reading needs the operator's age identity. */
  secrets(): SecretStore;
  /** Resolved on first use (starts the embedded simulator when lab.yaml says `embedded`). */
  proxmox(): Promise<ProxmoxEndpoint>;
  /** Registers a cleanup run when the command ends (close connections, stop the simulator). */
  onClose(fn: () => Promise<void> | void): void;
}

/**
 * One layer as the engine sees it: observe + plan (pure inside), then apply a plan and re-verify.
 * Each layer package exports the functions; `packages/engine/src/layers/<layer>.ts` adapts them.
 */
export interface LayerAdapter {
  readonly layer: Layer;
  readonly description: string;
  /** Observe the world and compute the plan. `check` plans without intent to apply. */
  plan(ctx: LayerContext, mode: PlanMode): Promise<Plan>;
  /** Apply exactly this plan (refusing it if its basis moved), then re-verify. */
  apply(plan: Plan, ctx: LayerContext): Promise<void>;
}
