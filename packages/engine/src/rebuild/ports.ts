import type { RebuildPorts } from './run.js';

/** The capture commands' session-level functions, loaded only when a rebuild step needs them. */
export function rebuildPorts(): RebuildPorts {
  return {
    captureData: async (session, persona) => (await import('../capture/data.js')).captureDataFor(session, persona),
    restoreData: async (session, persona, snapshot) => (await import('../capture/data.js')).restoreDataFor(session, persona, snapshot),
    captureVm: async (session, persona) => (await import('../capture/vm.js')).captureVmInSession(session, persona),
  };
}
