import type { Registry } from '../api/registry';
import { R } from '../api/resources';
import { rfc3339 } from '../util';
import type { EventRecorder } from './events';

/** Binds unscheduled pods to Ready nodes, round robin. */
export class Scheduler {
  private next = 0;
  constructor(
    private readonly reg: Registry,
    private readonly events: EventRecorder,
  ) {}

  syncAll(): void {
    const nodes = this.reg
      .list(R.nodes)
      .filter((n) =>
        ((n.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some(
          (c) => c.type === 'Ready' && c.status === 'True',
        ),
      );
    for (const pod of this.reg.list(R.pods)) {
      const spec = pod.spec as { nodeName?: string };
      if (spec.nodeName || pod.metadata.deletionTimestamp) continue;
      const node = nodes[this.next++ % Math.max(1, nodes.length)];
      if (!node) continue;
      const bound = this.reg.mutate(R.pods, pod.metadata.namespace, pod.metadata.name ?? '', (o) => {
        (o.spec as { nodeName?: string }).nodeName = node.metadata.name;
        const status = (o.status ??= {}) as { phase?: string; conditions?: unknown[] };
        status.phase ??= 'Pending';
        status.conditions = [
          { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: rfc3339() },
        ];
      });
      if (bound) {
        this.events.normal(
          bound,
          'Scheduled',
          `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${node.metadata.name}`,
          { component: 'default-scheduler' },
        );
      }
    }
  }
}
