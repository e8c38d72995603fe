import { LabError, runStep, type Reporter } from '@lab/core';
import { changeVmPower, isPveError, pingGuestAgent, readVmCurrent, pveInt, pveString, PveTaskError, type PveClient } from '@lab/pve';

export interface AgentWaitOptions {
  readonly client: PveClient;
  readonly reporter: Reporter;
  /** How long a VM may boot before its agent must answer (measured from its own start). Default 5 min. */
  readonly bootBudgetMs?: number;
  readonly pollMs?: number;
  readonly taskPollMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Start a VM; one that already runs is fine. */
export async function startVm(o: AgentWaitOptions, node: string, vmid: number, persona: string): Promise<void> {
  try {
    await changeVmPower(o.client, { node, vmid }, 'start', undefined, { title: `start ${persona}`, group: persona, ...(o.taskPollMs === undefined ? {} : { pollMs: o.taskPollMs }) });
  } catch (e) {
    if (!(e instanceof PveTaskError && /already running/.test(e.exitstatus))) throw e;
  }
}

async function vmStatus(client: PveClient, node: string, vmid: number): Promise<{ status: string; uptime: number } | undefined> {
  try {
    const r = await readVmCurrent(client, { node, vmid }, { attempts: 1 });
    return { status: pveString(r['status']) ?? 'unknown', uptime: pveInt(r['uptime']) ?? 0 };
  } catch (e) {
    if (isPveError(e)) return undefined; // the node does not answer (yet): keep waiting
    throw e;
  }
}

/**
 * Wait for the guest agent only while the VM is booting (adr/0161): the budget runs from the
 * VM's own start (its uptime), not from when lab began waiting, so a VM that has run longer than
 * the budget with a silent agent fails at once, and a VM found stopped (its node went down and
 * came back) is started again instead of waited on.
 */
export async function waitForAgent(o: AgentWaitOptions, node: string, vmid: number, persona: string): Promise<void> {
  const budget = o.bootBudgetMs ?? 300_000;
  const poll = o.pollMs ?? 500;
  let restarts = 0;
  let lastSeen = 'no answer yet';
  // While the node itself does not answer, the silence is bounded by the same budget.
  let silentSince = Date.now();
  await runStep(o.reporter, `wait for the guest agent of ${persona}`, async (progress) => {
    for (;;) {
      try {
        await pingGuestAgent(o.client, { node, vmid }, { attempts: 1 });
        return;
      } catch (e) {
        if (!isPveError(e)) throw e;
        lastSeen = e.pveMessage || lastSeen;
      }
      const st = await vmStatus(o.client, node, vmid);
      if (st === undefined) {
        if (Date.now() - silentSince > budget) throw timeout(persona, vmid, node, `node ${node} has not answered for ${Math.round(budget / 1000)}s`);
      } else {
        silentSince = Date.now();
        if (st.status !== 'running') {
          if (restarts >= 2) throw timeout(persona, vmid, node, `the VM stopped again (${st.status}) after ${restarts} starts`);
          restarts++;
          progress(`VM ${vmid} is ${st.status}; starting it`);
          await startVm(o, node, vmid, persona);
          continue;
        }
        if (st.uptime * 1000 > budget) throw timeout(persona, vmid, node, `the VM has been running for ${st.uptime}s; its agent says: ${lastSeen}`);
        progress(`booting (${st.uptime}s)`);
      }
      await sleep(poll);
    }
  }, { group: persona });
}

function timeout(persona: string, vmid: number, node: string, why: string): LabError {
  return new LabError({
    code: 'LAB_L2_AGENT_TIMEOUT',
    summary: `the guest agent of ${persona} (VM ${vmid} on ${node}) did not answer: ${why}`,
    hint: 'check the VM console; the image must ship qemu-guest-agent (lab image list shows what each VM came from)',
  });
}
