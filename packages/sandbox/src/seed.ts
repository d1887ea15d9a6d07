import type { Registry } from './api/registry';
import { R } from './api/resources';
import { SANDBOX_GATEWAY_CLASS, SANDBOX_GATEWAY_CONTROLLER } from './gateway/controller';
import { rfc3339, type KubeObject } from './util';

/** Namespaces every cluster has, plus the project's own. */
export const SEED_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease', 'veloz'];

export function seedCluster(reg: Registry, nodeCount: number): void {
  for (const name of SEED_NAMESPACES) reg.create(R.namespaces, undefined, { metadata: { name } });
  for (let i = 1; i <= nodeCount; i++)
    reg.create(R.nodes, undefined, nodeObject(`sandbox-node-${i}`, i), { asController: true });
  // As a cluster with a Gateway API implementation installed has: its GatewayClass.
  reg.create(R.gatewayclasses, undefined, {
    metadata: { name: SANDBOX_GATEWAY_CLASS },
    spec: {
      controllerName: SANDBOX_GATEWAY_CONTROLLER,
      description: 'The sandbox data plane: a listener on 127.0.0.1 per Gateway (veloz-sandbox gateways)',
    },
  });
}

function nodeObject(name: string, index: number): KubeObject {
  const now = rfc3339();
  const resources = { cpu: '4', memory: '16374584Ki', pods: '110', 'ephemeral-storage': '61202244Ki' };
  const cond = (type: string, status: string, reason: string, message: string): Record<string, string> => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: now,
    lastTransitionTime: now,
  });
  return {
    metadata: {
      name,
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'beta.kubernetes.io/arch': 'amd64',
        'topology.kubernetes.io/zone': `sandbox-${String.fromCharCode(96 + index)}`,
      },
    },
    spec: { podCIDR: `10.244.${index}.0/24`, podCIDRs: [`10.244.${index}.0/24`] },
    status: {
      capacity: resources,
      allocatable: { ...resources, cpu: '3900m', memory: '15850296Ki' },
      conditions: [
        cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
      ],
      addresses: [
        { type: 'InternalIP', address: `127.0.0.${index + 1}` },
        { type: 'Hostname', address: name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: `sandbox${index}`,
        systemUUID: `00000000-0000-0000-0000-00000000000${index}`,
        bootID: `00000000-0000-0000-0000-10000000000${index}`,
        kernelVersion: '6.1.0',
        osImage: 'VeloZ Sandbox',
        containerRuntimeVersion: 'sandbox://1.0.0',
        kubeletVersion: 'v1.33.0',
        kubeProxyVersion: 'v1.33.0',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    },
  };
}
