/**
 * Aborting a side-by-side canary: while green exists and the release still runs the version it ran
 * before, rolling back means removing green and nothing else — no Helm revision, no restart of blue,
 * whose pods have served throughout. Green's version is rejected like any rolled-back version. A
 * re-run finds the abort recorded on blue and does nothing.
 */
import type * as k8s from '@kubernetes/client-node';
import type { RunContext } from '@veloz/shared/contract';
import { listReleaseRevisions } from '@veloz/shared/helm/history';
import { annotate } from '@veloz/shared/kube/deployment-edits';
import { unlessNotFound } from '@veloz/shared/kube/errors';
import { normalizeVersion } from '@veloz/shared/kube/rejected-versions';
import { CANARY_ABORTED_ANNOTATION, findGreen, greenName, imageOf, removeGreen } from '@veloz/shared/kube/green';
import { removalPatch, routeRecordOf, updateRoute, zeroGreenPatch } from '@veloz/shared/kube/http-route';
import { releaseHeldPromotion } from './held-promotion';
import type { KubeSession } from '@veloz/shared/kube/session';
import { REVISION_ANNOTATION } from '@veloz/shared/kube/pods';
import { rollbackInitiatedText } from '@veloz/shared/notifications';
import { formatDuration } from '@veloz/shared/parse';
import { Finished, type ActionRun } from '@veloz/shared/pipeline';
import { versionOf } from './describe';
import { rejectVersion } from './reject';
import type { RollbackSettings } from './inputs';

interface AbortRecord {
  version: string;
  releaseImage: string;
  run: string;
  at: string;
}

interface AbortContext {
  s: Readonly<RollbackSettings>;
  ctx: RunContext;
  run: ActionRun;
  session: KubeSession;
}

/** The release's Deployment, its image, and green when an abort is what this rollback means. */
export interface CanaryToAbort {
  blue: k8s.V1Deployment;
  blueImage: string;
  green?: k8s.V1Deployment;
  /** Set on a re-run: the abort already happened. */
  done?: AbortRecord;
}

/**
 * An abort is due when green runs another version than the release and this rollback asks for no more
 * than that: no database restore, and no `to-revision` other than the one running.
 */
export async function canaryToAbort(rollback: AbortContext): Promise<CanaryToAbort | undefined> {
  const { namespace, deployment } = rollback.s.target;
  if (rollback.s.database) return undefined;
  const blue = await unlessNotFound(
    rollback.session.kube.apps.readNamespacedDeployment({ name: deployment, namespace }),
  );
  if (!blue) return undefined; // choosing the target says what is missing
  const blueImage = imageOf(blue);
  if (rollback.s.toRevision !== undefined && String(rollback.s.toRevision) !== (await currentRevision(rollback, blue)))
    return undefined;
  const green = await findGreen(rollback.session.kube, namespace, deployment);
  if (green) return imageOf(green) === blueImage ? undefined : { blue, blueImage, green };
  const done = abortRecord(blue);
  return done && done.releaseImage === blueImage ? { blue, blueImage, done } : undefined;
}

export async function abortCanary(rollback: AbortContext, found: CanaryToAbort): Promise<Finished> {
  const { s, ctx, run } = rollback;
  const { namespace, deployment, release } = s.target;
  const revision = await currentRevision(rollback, found.blue);
  const stays = `revision ${revision} (${versionOf(found.blueImage)})`;
  run.outputs['rolled-back-to'] = stays;
  if (found.done) {
    run.outputs['rolled-back-from'] = `green ${greenName(deployment)} (${found.done.version})`;
    run.fact('Already', `canary ${found.done.version} aborted by ${found.done.run} at ${found.done.at}`);
    return new Finished(
      `Nothing to do: the canary of ${found.done.version} was already aborted (green removed); ${release} stays at ${stays}.`,
    );
  }
  const green = found.green!;
  const version = versionOf(imageOf(green));
  run.outputs['rolled-back-from'] = `green ${greenName(deployment)} (${version})`;
  const greenService = await takeGreenOffRoute(rollback, green);
  await releaseHeldPromotion(rollback, rollback.session.kube);
  const removed = await removeGreen(rollback.session.kube, {
    namespace,
    deployment,
    clock: ctx.clock,
    timeoutMs: s.timeoutMs,
    log: (line) => ctx.log.info(line),
  });
  if (greenService)
    await unlessNotFound(rollback.session.kube.core.deleteNamespacedService({ name: greenService, namespace }));
  const record: AbortRecord = {
    version,
    releaseImage: found.blueImage,
    run: ctx.workflowRun.runUrl,
    at: new Date(ctx.clock.now()).toISOString(),
  };
  await annotate(rollback.session.kube, namespace, deployment, { [CANARY_ABORTED_ANNOTATION]: JSON.stringify(record) });
  await rejectVersion(rollback, normalizeVersion(version), stays);
  run.fact('Aborted', `green ${greenName(deployment)} removed (${removed.pods.join(', ') || 'no pods'})`);
  run.fact('Release', `${release} stays at ${stays}; its pods were not restarted`);
  await run.notify(
    rollbackInitiatedText({
      environment: s.records.environment,
      fromVersion: version,
      toVersion: versionOf(found.blueImage),
      reason: s.reason,
      time: new Date(run.started),
      status: 'COMPLETE',
      incident: s.incident,
    }),
  );
  return new Finished(
    `Canary of ${version} aborted: green ${greenName(deployment)} removed in ${formatDuration(removed.durationMs)}. ${release} stays at ${stays}, its pods untouched; no ${s.target.driver === 'helm' ? 'Helm revision' : 'rollout'} was made.`,
  );
}

/**
 * A weighted canary: green's weight to 0 first (no new request goes to it), then its backendRef
 * removed and blue's weight back to what it was before the canary (recorded on green). Green's
 * Service is removed with green (green owns it), and deleted here too in case it outlived it.
 */
async function takeGreenOffRoute(a: AbortContext, green: k8s.V1Deployment): Promise<string | undefined> {
  const record = routeRecordOf(green);
  if (!record) return undefined;
  const { kube } = a.session;
  const ns = a.s.target.namespace;
  const services = { blue: record.service, green: record.green };
  // Two writes: no new request reaches green before its backendRef goes.
  const zeroed = await updateRoute(kube, ns, record.route, (route) => zeroGreenPatch(route, record.green));
  if (!zeroed.route) {
    a.run.warnings.push(`HTTPRoute ${ns}/${record.route} is gone; only green and its Service are removed.`);
  } else {
    await updateRoute(kube, ns, record.route, (route) => removalPatch(route, services, record.blueWeights));
    a.run.fact(
      'Route',
      `HTTPRoute ${record.route}: green's weight 0, then its backendRef removed; blue's weights as before the canary`,
    );
  }
  return record.green;
}

async function currentRevision(a: AbortContext, blue: k8s.V1Deployment): Promise<string> {
  if (a.s.target.driver !== 'helm') return blue.metadata?.annotations?.[REVISION_ANNOTATION] ?? '';
  const revisions = await listReleaseRevisions(a.session.kube, a.s.target.namespace, a.s.target.release);
  return String(revisions[revisions.length - 1]?.revision ?? '');
}

function abortRecord(blue: k8s.V1Deployment): AbortRecord | undefined {
  const text = blue.metadata?.annotations?.[CANARY_ABORTED_ANNOTATION];
  if (!text) return undefined;
  try {
    return JSON.parse(text) as AbortRecord;
  } catch {
    return undefined;
  }
}
