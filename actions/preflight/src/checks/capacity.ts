import { type Check, defineCheck } from '@veloz/shared/checks';
import type { Kube } from '@veloz/shared/kube/client';
import { formatCpu, formatMemory, parseQuantity } from '@veloz/shared/kube/quantity';
import type { TargetSettings } from '@veloz/shared/target';
import type * as k8s from '@kubernetes/client-node';

interface Room {
  node: string;
  cpu: number;
  memory: number;
  pods: number;
}

/**
 * Runbook §1.1 "sufficient cluster resources": can the Ready nodes place replicas + maxSurge pods of
 * the live pod template, given what running pods (other than this Deployment's) already request?
 * Placement is first-fit per node, so fragmentation counts, not just totals.
 */
export function capacityCheck(
  kube: Kube,
  target: TargetSettings,
  replicasOverride: number | undefined,
  timeoutMs: number,
): Check {
  return defineCheck('capacity', 'Cluster capacity', timeoutMs, async () => {
    const { namespace, deployment: name } = target;
    const [deployment, nodes, pods] = await Promise.all([
      kube.apps.readNamespacedDeployment({ name, namespace }),
      kube.core.listNode(),
      kube.core.listPodForAllNamespaces({ fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed' }),
    ]);
    const replicas = replicasOverride ?? deployment.spec?.replicas ?? 1;
    const surge = maxSurge(deployment, replicas);
    const wanted = replicas + surge;
    const per = podRequests(deployment.spec?.template?.spec);
    const ownSelector = deployment.spec?.selector?.matchLabels ?? {};
    const isOwn = (pod: k8s.V1Pod): boolean =>
      pod.metadata?.namespace === namespace &&
      Object.entries(ownSelector).every(([k, v]) => pod.metadata?.labels?.[k] === v);

    const rooms: Room[] = nodes.items
      .filter(
        (n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && !n.spec?.unschedulable,
      )
      .map((n) => ({
        node: n.metadata?.name ?? '',
        cpu: parseQuantity(n.status?.allocatable?.cpu),
        memory: parseQuantity(n.status?.allocatable?.memory),
        pods: parseQuantity(n.status?.allocatable?.pods),
      }));
    for (const pod of pods.items) {
      const room = rooms.find((r) => r.node === pod.spec?.nodeName);
      if (!room || isOwn(pod)) continue;
      const used = podRequests(pod.spec);
      room.cpu -= used.cpu;
      room.memory -= used.memory;
      room.pods -= 1;
    }
    const free = rooms.reduce((t, r) => ({ cpu: t.cpu + r.cpu, memory: t.memory + r.memory, pods: t.pods + r.pods }), {
      cpu: 0,
      memory: 0,
      pods: 0,
    });
    let placed = 0;
    for (const room of rooms) {
      while (placed < wanted && room.pods >= 1 && room.cpu >= per.cpu && room.memory >= per.memory) {
        room.cpu -= per.cpu;
        room.memory -= per.memory;
        room.pods -= 1;
        placed++;
      }
    }
    const observed = `free on ${rooms.length} Ready nodes: cpu ${formatCpu(free.cpu)}, memory ${formatMemory(free.memory)}, ${free.pods} pod slots`;
    const threshold = `${wanted} pods (${replicas} replicas + ${surge} surge) × cpu ${formatCpu(per.cpu)}, memory ${formatMemory(per.memory)}`;
    const data = { replicas, surge, placed, wanted, perPod: per, free };
    if (placed < wanted) {
      return {
        status: 'fail',
        observed,
        threshold,
        detail: `Only ${placed} of ${wanted} pods fit on the Ready nodes. Free capacity (scale the node pool) or lower requests before deploying; \`kubectl describe nodes\` shows what is allocated.`,
        data,
      };
    }
    return { status: 'pass', observed, threshold, detail: `all ${wanted} pods fit`, data };
  });
}

function podRequests(spec: k8s.V1PodSpec | undefined): { cpu: number; memory: number } {
  let cpu = 0;
  let memory = 0;
  for (const c of spec?.containers ?? []) {
    cpu += parseQuantity(c.resources?.requests?.cpu as string | undefined);
    memory += parseQuantity(c.resources?.requests?.memory as string | undefined);
  }
  return { cpu, memory };
}

function maxSurge(d: k8s.V1Deployment, replicas: number): number {
  if (d.spec?.strategy?.type === 'Recreate') return 0;
  const value = (d.spec?.strategy?.rollingUpdate?.maxSurge ?? '25%') as number | string;
  if (typeof value === 'number') return value;
  const percent = /^(\d+)%$/.exec(value);
  return percent ? Math.ceil((replicas * Number(percent[1])) / 100) : Number(value) || 0;
}
