import type { Registry } from '../api/registry';
import { R } from '../api/resources';
import { clone, deepEqual, fnv32a, rfc3339, safeEncode, stableStringify, type KubeObject } from '../util';
import type { EventRecorder } from './events';
import {
  asDeployment,
  syncEach,
  asReplicaSet,
  controllerOf,
  DESIRED_REPLICAS,
  getCondition,
  MAX_REPLICAS,
  ownerRef,
  POD_TEMPLATE_HASH,
  REVISION,
  REVISION_HISTORY,
  revisionOf,
  scaledValue,
  setCondition,
  type Condition,
  type Deployment,
  type ReplicaSet,
} from './helpers';

const SOURCE = { component: 'deployment-controller' };
// Deployment annotations that are not copied onto its ReplicaSets (as in Kubernetes).
const NOT_COPIED = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION,
  REVISION_HISTORY,
  DESIRED_REPLICAS,
  MAX_REPLICAS,
  'deprecated.deployment.rollback.to',
]);

const replicasOf = (rs: ReplicaSet): number => rs.spec?.replicas ?? 0;
const sum = (list: ReplicaSet[], f: (rs: ReplicaSet) => number): number => list.reduce((n, rs) => n + f(rs), 0);

/** maxSurge / maxUnavailable resolved against spec.replicas (surge rounds up, unavailable down; never both 0). */
export function resolveFenceposts(d: Deployment): { surge: number; unavailable: number } {
  const replicas = d.spec?.replicas ?? 1;
  if (d.spec?.strategy?.type !== 'RollingUpdate') return { surge: 0, unavailable: 0 };
  const ru = d.spec.strategy.rollingUpdate ?? {};
  const surge = scaledValue(ru.maxSurge as number | string | undefined, replicas, true);
  let unavailable = scaledValue(ru.maxUnavailable as number | string | undefined, replicas, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

const maxUnavailable = (d: Deployment): number => {
  const replicas = d.spec?.replicas ?? 1;
  if (d.spec?.strategy?.type !== 'RollingUpdate' || replicas === 0) return 0;
  return Math.min(resolveFenceposts(d).unavailable, replicas);
};

function withoutHash(template: unknown): unknown {
  const t = clone(template) as { metadata?: { labels?: Record<string, string> } };
  if (t?.metadata?.labels) {
    delete t.metadata.labels[POD_TEMPLATE_HASH];
    if (Object.keys(t.metadata.labels).length === 0) delete t.metadata.labels;
  }
  return t;
}

/** The pod-template-hash: FNV-32a of the template (plus collision count), in the safe alphabet. */
export function podTemplateHash(template: unknown, collisionCount?: number): string {
  const text = stableStringify(withoutHash(template)) + (collisionCount ? String(collisionCount) : '');
  return safeEncode(String(fnv32a(text)));
}

/**
 * The deployment controller, following kubernetes/pkg/controller/deployment: one ReplicaSet per
 * pod template, rolling updates bounded by maxSurge/maxUnavailable, revisions that move forward on
 * undo, history cleanup and the Progressing/Available conditions.
 */
export class DeploymentController {
  constructor(
    private readonly reg: Registry,
    private readonly events: EventRecorder,
  ) {}

  syncAll(now: number): void {
    syncEach('deployment', this.reg.list(R.deployments), (o) => this.sync(asDeployment(o), now));
  }

  private ownedReplicaSets(d: Deployment): ReplicaSet[] {
    return this.reg
      .list(R.replicasets, d.metadata.namespace)
      .map(asReplicaSet)
      .filter((rs) => controllerOf(rs)?.uid === d.metadata.uid && !rs.metadata.deletionTimestamp);
  }

  sync(d: Deployment, now: number): void {
    if (d.metadata.deletionTimestamp) return;
    const all = this.ownedReplicaSets(d);
    const template = d.spec?.template;
    let newRS = all.find((rs) => deepEqual(withoutHash(rs.spec?.template), withoutHash(template)));
    const oldRSs = all.filter((rs) => rs !== newRS).sort(byCreation);
    const oldStatus = clone(d.status ?? {});

    if (d.spec?.paused) {
      if (newRS) newRS = this.syncRevision(d, newRS, oldRSs);
      this.scale(d, newRS, oldRSs);
      this.writeStatus(d, newRS, oldRSs, oldStatus, now, 'paused');
      return;
    }

    const scalingEvent = [newRS, ...oldRSs].some(
      (rs) => rs && replicasOf(rs) > 0 && rs.metadata.annotations?.[DESIRED_REPLICAS] !== String(d.spec?.replicas ?? 1),
    );
    if (newRS) newRS = this.syncRevision(d, newRS, oldRSs);
    else if (d.spec?.strategy?.type === 'Recreate' && !this.oldPodsGone(d, oldRSs)) {
      // Recreate creates the new ReplicaSet only once every old pod is gone.
      for (const rs of oldRSs) if (replicasOf(rs) > 0) this.scaleRS(d, rs, 0);
      this.writeStatus(d, undefined, oldRSs, oldStatus, now, 'rollout');
      return;
    } else newRS = this.createNewReplicaSet(d, oldRSs);
    if (!newRS) return;

    if (scalingEvent) {
      this.scale(d, newRS, oldRSs);
    } else if (d.spec?.strategy?.type === 'Recreate') {
      this.rolloutRecreate(d, newRS, oldRSs);
    } else {
      const scaledUp = this.reconcileNewReplicaSet(d, newRS, oldRSs);
      if (!scaledUp) this.reconcileOldReplicaSets(d, newRS, oldRSs);
    }
    const fresh = this.ownedReplicaSets(d);
    const freshNew = fresh.find((rs) => rs.metadata.uid === newRS!.metadata.uid);
    const freshOld = fresh.filter((rs) => rs.metadata.uid !== newRS!.metadata.uid).sort(byCreation);
    const status = this.writeStatus(d, freshNew, freshOld, oldStatus, now, 'rollout');
    if (status && isComplete(d, status)) this.cleanup(d, freshOld);
  }

  /** An existing ReplicaSet matching the template becomes the newest revision (that is what an undo is). */
  private syncRevision(d: Deployment, rs: ReplicaSet, oldRSs: ReplicaSet[]): ReplicaSet {
    const maxOld = Math.max(0, ...oldRSs.map(revisionOf));
    const newRevision = maxOld + 1;
    const updated = this.reg.mutate(R.replicasets, rs.metadata.namespace, rs.metadata.name ?? '', (o) => {
      const ann = (o.metadata.annotations ??= {});
      copyDeploymentAnnotations(d, ann);
      const current = Number(ann[REVISION] ?? 0);
      if (current < newRevision) {
        if (ann[REVISION] !== undefined)
          ann[REVISION_HISTORY] = ann[REVISION_HISTORY] ? `${ann[REVISION_HISTORY]},${ann[REVISION]}` : ann[REVISION];
        ann[REVISION] = String(newRevision);
      }
      if ((o.spec as { minReadySeconds?: number }).minReadySeconds !== d.spec?.minReadySeconds) {
        (o.spec as { minReadySeconds?: number }).minReadySeconds = d.spec?.minReadySeconds;
      }
    });
    const result = asReplicaSet(updated ?? rs);
    const revision = result.metadata.annotations?.[REVISION];
    if (revision && d.metadata.annotations?.[REVISION] !== revision) {
      this.reg.mutate(R.deployments, d.metadata.namespace, d.metadata.name ?? '', (o) => {
        (o.metadata.annotations ??= {})[REVISION] = revision;
      });
      (d.metadata.annotations ??= {})[REVISION] = revision;
      if (
        !getCondition(d.status?.conditions as Condition[] | undefined, 'Progressing') &&
        (d.spec?.progressDeadlineSeconds ?? 600) > 0
      ) {
        d.status = {
          ...d.status,
          conditions: setCondition(d.status?.conditions as Condition[] | undefined, {
            type: 'Progressing',
            status: 'True',
            reason: 'FoundNewReplicaSet',
            message: `Found new replica set "${result.metadata.name}"`,
          }) as never,
        };
      }
    }
    return result;
  }

  private createNewReplicaSet(d: Deployment, oldRSs: ReplicaSet[]): ReplicaSet | undefined {
    const collisionCount = d.status?.collisionCount ?? 0;
    const hash = podTemplateHash(d.spec?.template, collisionCount);
    const name = `${d.metadata.name}-${hash}`;
    const template = clone(d.spec?.template ?? {});
    template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, [POD_TEMPLATE_HASH]: hash } };
    const selector = clone(d.spec?.selector ?? {});
    selector.matchLabels = { ...selector.matchLabels, [POD_TEMPLATE_HASH]: hash };
    const replicas = this.newReplicasCount(d, oldRSs, undefined);
    const revision = String(Math.max(0, ...oldRSs.map(revisionOf)) + 1);
    const { surge } = resolveFenceposts(d);
    const annotations: Record<string, string> = {};
    copyDeploymentAnnotations(d, annotations);
    Object.assign(annotations, {
      [REVISION]: revision,
      [DESIRED_REPLICAS]: String(d.spec?.replicas ?? 1),
      [MAX_REPLICAS]: String((d.spec?.replicas ?? 1) + surge),
    });
    const rs: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name,
        namespace: d.metadata.namespace,
        labels: { ...template.metadata.labels },
        annotations,
        ownerReferences: [ownerRef(d, 'apps/v1', 'Deployment')],
      },
      spec: {
        replicas,
        ...(d.spec?.minReadySeconds ? { minReadySeconds: d.spec.minReadySeconds } : {}),
        selector,
        template,
      },
    };
    if (this.reg.tryGet(R.replicasets, d.metadata.namespace, name)) {
      // A ReplicaSet of that name exists but is not ours / has another template: bump collisionCount and retry next pass.
      this.reg.mutate(R.deployments, d.metadata.namespace, d.metadata.name ?? '', (o) => {
        const st = (o.status ??= {}) as { collisionCount?: number };
        st.collisionCount = collisionCount + 1;
      });
      return undefined;
    }
    const created = asReplicaSet(this.reg.create(R.replicasets, d.metadata.namespace, rs, { asController: true }));
    if (replicas > 0)
      this.events.normal(d, 'ScalingReplicaSet', `Scaled up replica set ${name} from 0 to ${replicas}`, SOURCE);
    this.reg.mutate(R.deployments, d.metadata.namespace, d.metadata.name ?? '', (o) => {
      (o.metadata.annotations ??= {})[REVISION] = revision;
      const st = (o.status ??= {}) as { conditions?: Condition[] };
      if ((d.spec?.progressDeadlineSeconds ?? 600) > 0) {
        st.conditions = replaceProgressing(st.conditions, {
          type: 'Progressing',
          status: 'True',
          reason: 'NewReplicaSetCreated',
          message: `Created new replica set "${name}"`,
        });
      }
    });
    const fresh = this.reg.get(R.deployments, d.metadata.namespace, d.metadata.name ?? '');
    d.metadata.annotations = fresh.metadata.annotations;
    d.status = asDeployment(fresh).status;
    return created;
  }

  private newReplicasCount(d: Deployment, oldRSs: ReplicaSet[], newRS: ReplicaSet | undefined): number {
    const replicas = d.spec?.replicas ?? 1;
    if (d.spec?.strategy?.type === 'Recreate') return replicas;
    const current = sum(oldRSs, replicasOf) + (newRS ? replicasOf(newRS) : 0);
    const maxTotal = replicas + resolveFenceposts(d).surge;
    if (current >= maxTotal) return newRS ? replicasOf(newRS) : 0;
    const up = Math.min(maxTotal - current, replicas - (newRS ? replicasOf(newRS) : 0));
    return (newRS ? replicasOf(newRS) : 0) + Math.max(0, up);
  }

  private reconcileNewReplicaSet(d: Deployment, newRS: ReplicaSet, oldRSs: ReplicaSet[]): boolean {
    const replicas = d.spec?.replicas ?? 1;
    if (replicasOf(newRS) === replicas) return this.scaleRS(d, newRS, replicas);
    if (replicasOf(newRS) > replicas) return this.scaleRS(d, newRS, replicas);
    return this.scaleRS(d, newRS, this.newReplicasCount(d, oldRSs, newRS));
  }

  private reconcileOldReplicaSets(d: Deployment, newRS: ReplicaSet, oldRSs: ReplicaSet[]): boolean {
    const oldCount = sum(oldRSs, replicasOf);
    if (oldCount === 0) return false;
    const replicas = d.spec?.replicas ?? 1;
    const all = [newRS, ...oldRSs];
    const allPods = sum(all, replicasOf);
    const minAvailable = replicas - maxUnavailable(d);
    const newUnavailable = replicasOf(newRS) - (newRS.status?.availableReplicas ?? 0);
    const maxScaledDown = allPods - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return false;
    // First drop old replicas that are not available anyway, then scale down available ones within budget.
    let cleaned = 0;
    const remainingOld: ReplicaSet[] = [];
    for (const rs of oldRSs) {
      const unhealthy = replicasOf(rs) - (rs.status?.availableReplicas ?? 0);
      const drop = Math.min(Math.max(0, unhealthy), maxScaledDown - cleaned);
      if (drop > 0) {
        this.scaleRS(d, rs, replicasOf(rs) - drop);
        cleaned += drop;
        remainingOld.push({ ...rs, spec: { ...rs.spec, replicas: replicasOf(rs) - drop } } as ReplicaSet);
      } else remainingOld.push(rs);
    }
    const available = sum([newRS, ...remainingOld], (rs) => rs.status?.availableReplicas ?? 0);
    let scaledDown = 0;
    if (available > minAvailable) {
      const total = available - minAvailable;
      for (const rs of remainingOld) {
        if (scaledDown >= total) break;
        if (replicasOf(rs) === 0) continue;
        const step = Math.min(replicasOf(rs), total - scaledDown);
        this.scaleRS(d, rs, replicasOf(rs) - step);
        scaledDown += step;
      }
    }
    return cleaned + scaledDown > 0;
  }

  private rolloutRecreate(d: Deployment, newRS: ReplicaSet, oldRSs: ReplicaSet[]): void {
    let scaledDown = false;
    for (const rs of oldRSs) if (replicasOf(rs) > 0) scaledDown = this.scaleRS(d, rs, 0) || scaledDown;
    if (scaledDown) return;
    if (!this.oldPodsGone(d, oldRSs)) return;
    this.scaleRS(d, newRS, d.spec?.replicas ?? 1);
  }

  /** Like Kubernetes' Recreate, old pods must be gone, not merely terminating. */
  private oldPodsGone(d: Deployment, oldRSs: ReplicaSet[]): boolean {
    const oldUids = new Set(oldRSs.map((rs) => rs.metadata.uid));
    return !this.reg
      .list(R.pods, d.metadata.namespace)
      .some(
        (p) =>
          oldUids.has(controllerOf(p)?.uid) &&
          !['Succeeded', 'Failed'].includes((p.status as { phase?: string } | undefined)?.phase ?? ''),
      );
  }

  /** Scaling events (spec.replicas changed, paused deployments): proportional, like Kubernetes' scale(). */
  private scale(d: Deployment, newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): void {
    const replicas = d.spec?.replicas ?? 1;
    const all = [newRS, ...oldRSs].filter((x): x is ReplicaSet => !!x);
    const active = all.filter((rs) => replicasOf(rs) > 0);
    if (active.length <= 1) {
      const target = active[0] ?? newRS;
      if (target) this.scaleRS(d, target, replicas);
      return;
    }
    if (newRS && replicasOf(newRS) === replicas && (newRS.status?.availableReplicas ?? 0) === replicas) {
      for (const rs of oldRSs) this.scaleRS(d, rs, 0);
      return;
    }
    const allowed = replicas + resolveFenceposts(d).surge;
    const current = sum(active, replicasOf);
    const toAdd = allowed - current;
    if (toAdd === 0) {
      for (const rs of active) this.scaleRS(d, rs, replicasOf(rs));
      return;
    }
    const sorted = [...active].sort((a, b) =>
      toAdd > 0
        ? replicasOf(b) - replicasOf(a) || -byCreation(a, b)
        : replicasOf(b) - replicasOf(a) || byCreation(a, b),
    );
    const sizes = new Map(sorted.map((rs) => [rs, replicasOf(rs)]));
    let added = 0;
    for (const rs of sorted) {
      const annotated = Number(rs.metadata.annotations?.[MAX_REPLICAS] ?? current) || current;
      const share = Math.round((replicasOf(rs) * allowed) / annotated) - replicasOf(rs);
      const step = toAdd > 0 ? Math.min(share, toAdd - added) : Math.max(share, toAdd - added);
      sizes.set(rs, Math.max(0, replicasOf(rs) + step));
      added += step;
    }
    const first = sorted[0];
    if (first && added !== toAdd) sizes.set(first, Math.max(0, (sizes.get(first) ?? 0) + toAdd - added));
    for (const [rs, size] of sizes) this.scaleRS(d, rs, size);
  }

  /** Sets replicas and the desired/max-replicas annotations; records the ScalingReplicaSet event. */
  private scaleRS(d: Deployment, rs: ReplicaSet, replicas: number): boolean {
    const from = replicasOf(rs);
    const { surge } = resolveFenceposts(d);
    const desired = String(d.spec?.replicas ?? 1);
    const max = String((d.spec?.replicas ?? 1) + surge);
    this.reg.mutate(R.replicasets, rs.metadata.namespace, rs.metadata.name ?? '', (o) => {
      (o.spec as { replicas?: number }).replicas = replicas;
      const ann = (o.metadata.annotations ??= {});
      ann[DESIRED_REPLICAS] = desired;
      ann[MAX_REPLICAS] = max;
    });
    if (from === replicas) return false;
    this.events.normal(
      d,
      'ScalingReplicaSet',
      `Scaled ${replicas > from ? 'up' : 'down'} replica set ${rs.metadata.name} from ${from} to ${replicas}`,
      SOURCE,
    );
    return true;
  }

  /** Deletes old, fully scaled-down ReplicaSets beyond revisionHistoryLimit, oldest revision first. */
  private cleanup(d: Deployment, oldRSs: ReplicaSet[]): void {
    const limit = d.spec?.revisionHistoryLimit ?? 10;
    const idle = oldRSs.filter(
      (rs) => replicasOf(rs) === 0 && (rs.status?.replicas ?? 0) === 0 && !rs.metadata.deletionTimestamp,
    );
    if (idle.length <= limit) return;
    idle.sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b));
    for (const rs of idle.slice(0, idle.length - limit)) {
      this.reg.delete(R.replicasets, rs.metadata.namespace, rs.metadata.name ?? '', {
        propagationPolicy: 'Background',
      });
    }
  }

  private writeStatus(
    d: Deployment,
    newRS: ReplicaSet | undefined,
    oldRSs: ReplicaSet[],
    oldStatus: NonNullable<Deployment['status']>,
    now: number,
    mode: 'paused' | 'rollout',
  ): NonNullable<Deployment['status']> | undefined {
    const all = [newRS, ...oldRSs].filter((x): x is ReplicaSet => !!x);
    const replicas = d.spec?.replicas ?? 1;
    const totalSpec = sum(all, replicasOf);
    const available = sum(all, (rs) => rs.status?.availableReplicas ?? 0);
    const status: NonNullable<Deployment['status']> = {
      observedGeneration: d.metadata.generation ?? 1,
      replicas: sum(all, (rs) => rs.status?.replicas ?? 0),
      updatedReplicas: newRS?.status?.replicas ?? 0,
      readyReplicas: sum(all, (rs) => rs.status?.readyReplicas ?? 0),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, totalSpec - available),
      ...(d.status?.collisionCount !== undefined ? { collisionCount: d.status.collisionCount } : {}),
    };
    let conditions = (d.status?.conditions ?? []) as Condition[];
    conditions =
      available >= replicas - maxUnavailable(d)
        ? setCondition(conditions, {
            type: 'Available',
            status: 'True',
            reason: 'MinimumReplicasAvailable',
            message: 'Deployment has minimum availability.',
          })
        : setCondition(conditions, {
            type: 'Available',
            status: 'False',
            reason: 'MinimumReplicasUnavailable',
            message: 'Deployment does not have minimum availability.',
          });

    const deadline = d.spec?.progressDeadlineSeconds ?? 600;
    const progressing = getCondition(conditions, 'Progressing');
    if (mode === 'paused') {
      if (deadline > 0 && progressing?.reason !== 'DeploymentPaused') {
        conditions = replaceProgressing(conditions, {
          type: 'Progressing',
          status: 'Unknown',
          reason: 'DeploymentPaused',
          message: 'Deployment is paused',
        });
      }
    } else if (progressing?.reason === 'DeploymentPaused') {
      conditions = replaceProgressing(conditions, {
        type: 'Progressing',
        status: 'Unknown',
        reason: 'DeploymentResumed',
        message: 'Deployment is resumed',
      });
    } else if (deadline > 0 && newRS) {
      const oldOld = (oldStatus.replicas ?? 0) - (oldStatus.updatedReplicas ?? 0);
      const newOld = (status.replicas ?? 0) - (status.updatedReplicas ?? 0);
      const madeProgress =
        (status.updatedReplicas ?? 0) > (oldStatus.updatedReplicas ?? 0) ||
        (status.readyReplicas ?? 0) > (oldStatus.readyReplicas ?? 0) ||
        newOld < oldOld ||
        (status.availableReplicas ?? 0) > (oldStatus.availableReplicas ?? 0);
      if (isComplete(d, status)) {
        conditions = setCondition(conditions, {
          type: 'Progressing',
          status: 'True',
          reason: 'NewReplicaSetAvailable',
          message: `ReplicaSet "${newRS.metadata.name}" has successfully progressed.`,
        });
      } else if (madeProgress) {
        const cond: Condition = {
          type: 'Progressing',
          status: 'True',
          reason: 'ReplicaSetUpdated',
          message: `ReplicaSet "${newRS.metadata.name}" is progressing.`,
          lastUpdateTime: rfc3339(now),
          lastTransitionTime: rfc3339(now),
        };
        if (progressing?.status === 'True' && progressing.lastTransitionTime)
          cond.lastTransitionTime = progressing.lastTransitionTime;
        conditions = [...conditions.filter((c) => c.type !== 'Progressing'), cond];
      } else if (
        progressing &&
        progressing.reason !== 'NewReplicaSetAvailable' &&
        progressing.reason !== 'ProgressDeadlineExceeded'
      ) {
        const from = Date.parse(progressing.lastUpdateTime ?? progressing.lastTransitionTime ?? '') || now;
        if (from + deadline * 1000 < now) {
          conditions = setCondition(conditions, {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: `ReplicaSet "${newRS.metadata.name}" has timed out progressing.`,
          });
          this.events.warning(
            d,
            'ProgressDeadlineExceeded',
            `Deployment "${d.metadata.name}" has timed out progressing.`,
            SOURCE,
          );
        }
      }
    }
    status.conditions = sortConditions(conditions) as never;
    const updated = this.reg.mutate(R.deployments, d.metadata.namespace, d.metadata.name ?? '', (o) => {
      o.status = status;
    });
    return updated ? asDeployment(updated).status : status;
  }
}

function isComplete(d: Deployment, status: NonNullable<Deployment['status']>): boolean {
  const replicas = d.spec?.replicas ?? 1;
  return (
    (status.updatedReplicas ?? 0) === replicas &&
    (status.replicas ?? 0) === replicas &&
    (status.availableReplicas ?? 0) === replicas &&
    (status.observedGeneration ?? 0) >= (d.metadata.generation ?? 1)
  );
}

/** Available first, then Progressing — the order Kubernetes ends up with. */
function sortConditions(conditions: Condition[]): Condition[] {
  const order = ['Available', 'Progressing', 'ReplicaFailure'];
  return [...conditions].sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
}

function replaceProgressing(conditions: Condition[] | undefined, next: Condition): Condition[] {
  const now = rfc3339();
  return [
    ...(conditions ?? []).filter((c) => c.type !== 'Progressing'),
    { ...next, lastUpdateTime: now, lastTransitionTime: now },
  ];
}

function copyDeploymentAnnotations(d: Deployment, target: Record<string, string>): void {
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) if (!NOT_COPIED.has(k)) target[k] = v;
}

/** Oldest first. Creation timestamps have one-second precision, so revisions break the ties. */
function byCreation(a: KubeObject, b: KubeObject): number {
  return (
    String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)) ||
    revisionOf(a) - revisionOf(b) ||
    String(a.metadata.name).localeCompare(String(b.metadata.name))
  );
}
