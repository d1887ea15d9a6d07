/** Runbook §4.5 steps 1–2: the restored version answers its health checks; the data looks sane. */
import type { RunContext } from '@veloz/shared/contract';
import { describeError, runChecks, type CheckResult } from '@veloz/shared/checks';
import { healthCheck } from '@veloz/shared/endpoint-checks/health';
import { urlEndpoint, type HttpEndpoint } from '@veloz/shared/http/endpoint';
import type { Kube } from '@veloz/shared/kube/client';
import { isPodReady, labelSelector } from '@veloz/shared/kube/pods';
import { proxyEndpoint } from '@veloz/shared/kube/proxy';
import { readOnlyQuery } from '@veloz/shared/pg-readonly';
import { redact } from '@veloz/shared/secrets';
import type { RollbackSettings } from './inputs';

interface HealthVerdict {
  ok: boolean;
  detail: string;
  results: CheckResult[];
}

/** Every Ready pod through pods/proxy (or `verify-url`), each on the health paths. */
export async function verifyHealth(
  kube: Kube,
  settings: Readonly<RollbackSettings>,
  ctx: RunContext,
): Promise<HealthVerdict> {
  const endpoints = settings.verifyUrl ? [urlEndpoint(settings.verifyUrl)] : await readyPodEndpoints(kube, settings);
  if (endpoints.length === 0) return { ok: false, detail: 'no Ready pod to check', results: [] };
  const results = await runChecks(
    endpoints.map((ep) => ({
      ...healthCheck(ep, { paths: settings.healthPaths, timeoutMs: 15_000 }),
      name: ep.describe,
    })),
    { clock: ctx.clock },
  );
  const bad = results.filter((r) => r.status !== 'pass');
  return {
    ok: bad.length === 0,
    detail: bad.map((r) => `${r.name}: ${r.detail ?? r.observed ?? r.status}`).join('; '),
    results: results.map((r) => ({ ...r, title: `Health of ${r.name}` })),
  };
}

async function readyPodEndpoints(kube: Kube, s: Readonly<RollbackSettings>): Promise<HttpEndpoint[]> {
  const { namespace, deployment: name } = s.target;
  const d = await kube.apps.readNamespacedDeployment({ name, namespace });
  const pods = await kube.core.listNamespacedPod({
    namespace,
    labelSelector: labelSelector(d.spec?.selector?.matchLabels),
  });
  const port = String(d.spec?.template?.spec?.containers?.[0]?.ports?.[0]?.containerPort ?? 8080);
  const endpoints: HttpEndpoint[] = [];
  for (const pod of pods.items.filter(isPodReady)) {
    endpoints.push(await proxyEndpoint(kube, 'pods', namespace, pod.metadata?.name ?? '', port));
  }
  return endpoints;
}

/** The runbook's post-rollback query, bounded and read-only; its answer (or why there is none) goes into the report. */
export async function consistencyQuery(postgresUrl: string, query: string): Promise<{ ok: boolean; detail: string }> {
  try {
    const [first] = await readOnlyQuery({ url: postgresUrl, sql: query });
    const value = first ? Object.values(first).map(String).join(', ') : 'no rows';
    return { ok: true, detail: `${query} → ${value}` };
  } catch (error) {
    return { ok: false, detail: redact(describeError(error).replaceAll(postgresUrl, '<postgres-url>')) };
  }
}
