/**
 * The kubectl driver's plan: what the API writes to a Deployment and its autoscaler would leave,
 * as the same object diff the helm driver gets from rendered manifests.
 */
import type * as k8s from '@kubernetes/client-node';
import { SUSPENDED_HPA_ANNOTATION } from '../kube/deployment-edits';
import type { KubeManifest } from './diff';

/** The Deployment as a plan compares it: kind, name and spec (what a write changes). */
export function asManifest(kind: string, object: { metadata?: { name?: string }; spec?: unknown }): KubeManifest {
  return { kind, metadata: { name: object.metadata?.name }, spec: structuredClone(object.spec) as unknown };
}

/** The autoscaler a suspended HPA annotation would restore (the kubectl driver sets it aside during a canary). */
export function suspendedHpa(deployment: k8s.V1Deployment): KubeManifest | undefined {
  const saved = deployment.metadata?.annotations?.[SUSPENDED_HPA_ANNOTATION];
  if (!saved) return undefined;
  const { name, spec } = JSON.parse(saved) as { name: string; spec: unknown };
  return { kind: 'HorizontalPodAutoscaler', metadata: { name }, spec };
}
