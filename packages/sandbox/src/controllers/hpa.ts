import type { Registry } from '../api/registry';
import { findResourceByKind, R } from '../api/resources';
import { rfc3339, type KubeObject } from '../util';
import type { EventRecorder } from './events';
import { setCondition, type Condition } from './helpers';

interface HpaSpec {
  scaleTargetRef: { apiVersion?: string; kind: string; name: string };
  minReplicas?: number;
  maxReplicas: number;
}

/** Keeps each HPA's target within [minReplicas, maxReplicas]. There are no metrics, so no other scaling. */
export class HpaController {
  constructor(
    private readonly reg: Registry,
    private readonly events: EventRecorder,
  ) {}

  syncAll(): void {
    for (const hpa of this.reg.list(R.hpas)) this.sync(hpa);
  }

  private sync(hpa: KubeObject): void {
    if (hpa.metadata.deletionTimestamp) return;
    const spec = hpa.spec as HpaSpec;
    const ref = spec.scaleTargetRef;
    const def = findResourceByKind(ref.apiVersion ?? 'apps/v1', ref.kind);
    const target = def ? this.reg.tryGet(def, hpa.metadata.namespace, ref.name) : undefined;
    const status = (hpa.status ?? {}) as {
      currentReplicas?: number;
      desiredReplicas?: number;
      lastScaleTime?: string;
      conditions?: Condition[];
      observedGeneration?: number;
    };
    let conditions = status.conditions ?? [];
    let desired = status.desiredReplicas ?? 0;
    let current = 0;
    let lastScaleTime = status.lastScaleTime;
    if (!def || !target) {
      conditions = setCondition(
        conditions,
        {
          type: 'AbleToScale',
          status: 'False',
          reason: 'FailedGetScale',
          message: `the HPA controller was unable to get the target's current scale: ${ref.kind.toLowerCase()}s "${ref.name}" not found`,
        },
        false,
      );
    } else {
      current = (target.spec as { replicas?: number }).replicas ?? 1;
      const min = spec.minReplicas ?? 1;
      // Like Kubernetes: a target scaled to 0 by hand switches autoscaling off until scaled up again
      // (runbook §4.4 stops the engine with `kubectl scale --replicas=0` while an HPA exists).
      desired = current === 0 ? 0 : Math.min(Math.max(current, min), spec.maxReplicas);
      conditions = setCondition(
        conditions,
        {
          type: 'AbleToScale',
          status: 'True',
          reason: 'SucceededRescale',
          message: 'the HPA controller was able to update the target scale',
        },
        false,
      );
      conditions = setCondition(
        conditions,
        {
          type: 'ScalingActive',
          status: 'False',
          reason: 'FailedGetResourceMetric',
          message: 'the sandbox has no metrics server; replicas are only kept within min/max',
        },
        false,
      );
      const limited = current < min || current > spec.maxReplicas;
      conditions = setCondition(
        conditions,
        limited
          ? {
              type: 'ScalingLimited',
              status: 'True',
              reason: current < min ? 'TooFewReplicas' : 'TooManyReplicas',
              message: `the desired replica count is ${current < min ? 'less' : 'more'} than the ${current < min ? 'minimum' : 'maximum'} replica count`,
            }
          : {
              type: 'ScalingLimited',
              status: 'False',
              reason: 'DesiredWithinRange',
              message: 'the desired count is within the acceptable range',
            },
        false,
      );
      if (desired !== current) {
        this.reg.mutate(def, hpa.metadata.namespace, ref.name, (o) => {
          (o.spec as { replicas?: number }).replicas = desired;
        });
        lastScaleTime = rfc3339();
        const why =
          current < min
            ? 'Current number of replicas below Spec.MinReplicas'
            : 'Current number of replicas above Spec.MaxReplicas';
        this.events.normal(hpa, 'SuccessfulRescale', `New size: ${desired}; reason: ${why}`, {
          component: 'horizontal-pod-autoscaler',
        });
      }
      current = (target.status as { replicas?: number } | undefined)?.replicas ?? current;
    }
    this.reg.mutate(R.hpas, hpa.metadata.namespace, hpa.metadata.name ?? '', (o) => {
      o.status = {
        observedGeneration: hpa.metadata.generation ?? 1,
        ...(lastScaleTime ? { lastScaleTime } : {}),
        currentReplicas: current,
        desiredReplicas: desired,
        conditions,
      };
    });
  }
}
