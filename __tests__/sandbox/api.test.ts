import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { request as httpsRequest } from 'node:https';
import { ReplicaSet } from 'kubernetes-models/apps/v1/ReplicaSet';
import { Endpoints } from 'kubernetes-models/v1/Endpoints';
import { Event } from 'kubernetes-models/v1/Event';
import { Pod } from 'kubernetes-models/v1/Pod';
import { startSandbox, type Sandbox } from '@veloz/sandbox';
import { eventually } from './support';

type Json = Record<string, unknown>;

const deployment = (name: string, extra: Json = {}): Json => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, labels: { app: name } },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'main', image: 'veloz/engine:1', ports: [{ containerPort: 8080 }] }] },
    },
    ...extra,
  },
});

/** Reads a watch stream until `until` says stop (or the server ends it). */
function watchLines(sb: Sandbox, path: string, until: (events: Json[]) => boolean, token = sb.token): Promise<Json[]> {
  return new Promise((resolve, reject) => {
    const events: Json[] = [];
    const req = httpsRequest(
      new URL(path, sb.url),
      { ca: sb.caCert, headers: { authorization: `Bearer ${token}` } },
      (res) => {
        let buf = '';
        res.on('data', (chunk: Buffer) => {
          buf += chunk.toString('utf8');
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            events.push(JSON.parse(buf.slice(0, nl)) as Json);
            buf = buf.slice(nl + 1);
          }
          if (until(events)) {
            req.destroy();
            resolve(events);
          }
        });
        res.on('end', () => resolve(events));
        res.on('error', () => resolve(events));
      },
    );
    req.on('error', (err) => (events.length ? resolve(events) : reject(err)));
    req.end();
  });
}

describe('API semantics', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox({
      podStartupDelayMs: 100,
      probeIntervalMs: 100,
      engineSyntheticRps: 0,
      bookmarkIntervalMs: 200,
    });
  });
  afterAll(async () => {
    await sb.stop();
  });

  test('discovery, version and OpenAPI answer like a Kubernetes API server', async () => {
    expect((await sb.request('GET', '/version')).json).toMatchObject({
      major: '1',
      gitVersion: expect.stringMatching(/^v1\./),
    });
    const core = (await sb.request('GET', '/api/v1')).json as { resources: { name: string; verbs: string[] }[] };
    for (const r of [
      'namespaces',
      'nodes',
      'pods',
      'pods/log',
      'pods/proxy',
      'pods/status',
      'services',
      'services/proxy',
      'endpoints',
      'configmaps',
      'secrets',
      'events',
      'serviceaccounts',
    ]) {
      expect(core.resources.map((x) => x.name)).toContain(r);
    }
    const apps = (await sb.request('GET', '/apis/apps/v1')).json as {
      resources: { name: string; group?: string; kind: string }[];
    };
    expect(apps.resources.find((r) => r.name === 'deployments/scale')).toMatchObject({
      group: 'autoscaling',
      kind: 'Scale',
    });
    const groups = (await sb.request('GET', '/apis')).json as { groups: { name: string }[] };
    expect(groups.groups.map((g) => g.name)).toEqual(
      expect.arrayContaining(['apps', 'coordination.k8s.io', 'autoscaling', 'authorization.k8s.io']),
    );
    const openapi = (await sb.request('GET', '/openapi/v3')).json as { paths: Record<string, unknown> };
    expect(Object.keys(openapi.paths)).toContain('apis/apps/v1');
    expect((await sb.request('GET', '/apis/nope.io/v1')).status).toBe(404);
  });

  test('errors are Status objects with the right codes', async () => {
    const missing = await sb.request('GET', '/api/v1/namespaces/veloz/configmaps/none');
    expect(missing).toMatchObject({
      status: 404,
      json: {
        kind: 'Status',
        status: 'Failure',
        reason: 'NotFound',
        code: 404,
        message: 'configmaps "none" not found',
      },
    });
    expect((await sb.request('POST', '/api/v1/namespaces/veloz/configmaps/none', {})).json).toMatchObject({
      code: 405,
      reason: 'MethodNotAllowed',
    });
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c1' }, data: { a: '1' } };
    expect((await sb.request('POST', '/api/v1/namespaces/veloz/configmaps', cm)).status).toBe(201);
    expect((await sb.request('POST', '/api/v1/namespaces/veloz/configmaps', cm)).json).toMatchObject({
      code: 409,
      reason: 'AlreadyExists',
    });
    const stale = await sb.request('PUT', '/api/v1/namespaces/veloz/configmaps/c1', {
      ...cm,
      metadata: { name: 'c1', resourceVersion: '1' },
    });
    expect(stale.json).toMatchObject({
      code: 409,
      reason: 'Conflict',
      message: expect.stringContaining('the object has been modified'),
    });
    const badPatch = await sb.request(
      'PATCH',
      '/api/v1/namespaces/veloz/configmaps/c1',
      { data: { a: '2' } },
      { contentType: 'application/json' },
    );
    expect(badPatch.json).toMatchObject({ code: 415, reason: 'UnsupportedMediaType' });
    const invalid = await sb.request('POST', '/apis/apps/v1/namespaces/veloz/deployments', {
      ...deployment('bad'),
      spec: { ...(deployment('bad').spec as Json), selector: { matchLabels: { app: 'other' } } },
    });
    expect(invalid.json).toMatchObject({
      code: 422,
      reason: 'Invalid',
      message: expect.stringContaining('Deployment.apps "bad" is invalid'),
    });
    expect((await sb.request('POST', '/api/v1/namespaces/nowhere/configmaps', { ...cm })).json).toMatchObject({
      code: 404,
      message: 'namespaces "nowhere" not found',
    });
    expect((await sb.request('GET', '/api/v1/namespaces/veloz/configmaps', undefined, { token: 'wrong' })).status).toBe(
      401,
    );
  });

  test('dryRun=All validates and answers without persisting', async () => {
    const r = await sb.request('POST', '/apis/apps/v1/namespaces/veloz/deployments?dryRun=All', deployment('dry'));
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({
      metadata: { name: 'dry', uid: expect.any(String) },
      spec: { strategy: { type: 'RollingUpdate' } },
    });
    expect(sb.get('deployments', 'veloz', 'dry')).toBeUndefined();
  });

  test('list with label/field selectors and limit/continue; 410 for a compacted continue token', async () => {
    for (let i = 0; i < 5; i++) {
      await sb.request('POST', '/api/v1/namespaces/veloz/configmaps', {
        metadata: { name: `page-${i}`, labels: { set: 'pages', odd: String(i % 2 === 1) } },
      });
    }
    const first = (await sb.request('GET', '/api/v1/namespaces/veloz/configmaps?labelSelector=set%3Dpages&limit=2'))
      .json as { items: Json[]; metadata: { continue?: string; remainingItemCount?: number } };
    expect(first.items).toHaveLength(2);
    expect(first.metadata.remainingItemCount).toBe(3);
    const names: string[] = first.items.map((i) => (i.metadata as { name: string }).name);
    let token = first.metadata.continue;
    while (token) {
      const page = (
        await sb.request(
          'GET',
          `/api/v1/namespaces/veloz/configmaps?labelSelector=set%3Dpages&limit=2&continue=${token}`,
        )
      ).json as { items: Json[]; metadata: { continue?: string } };
      names.push(...page.items.map((i) => (i.metadata as { name: string }).name));
      token = page.metadata.continue;
    }
    expect(names).toEqual(['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
    const odd = (
      await sb.request('GET', '/api/v1/namespaces/veloz/configmaps?labelSelector=set%3Dpages,odd%20in%20(true)')
    ).json as { items: unknown[] };
    expect(odd.items).toHaveLength(2);
    const byName = (await sb.request('GET', '/api/v1/namespaces/veloz/configmaps?fieldSelector=metadata.name%3Dpage-3'))
      .json as { items: unknown[] };
    expect(byName.items).toHaveLength(1);

    const again = (await sb.request('GET', '/api/v1/namespaces/veloz/configmaps?labelSelector=set%3Dpages&limit=2'))
      .json as { metadata: { continue: string } };
    sb.compact();
    expect(
      (
        await sb.request(
          'GET',
          `/api/v1/namespaces/veloz/configmaps?labelSelector=set%3Dpages&limit=2&continue=${again.metadata.continue}`,
        )
      ).json,
    ).toMatchObject({ code: 410, reason: 'Expired' });

    const deleted = await sb.request('DELETE', '/api/v1/namespaces/veloz/configmaps?labelSelector=set%3Dpages');
    expect(deleted.status).toBe(200);
    expect(sb.list('configmaps', 'veloz', 'set=pages')).toHaveLength(0);
  });

  test('watch: initial events with bookmarks, resume from a resourceVersion, 410 when expired', async () => {
    const initial = await watchLines(
      sb,
      '/api/v1/namespaces/veloz/configmaps?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan',
      (ev) => ev.some((e) => e.type === 'BOOKMARK'),
    );
    const bookmark = initial.find((e) => e.type === 'BOOKMARK') as {
      object: { metadata: { resourceVersion: string; annotations?: Record<string, string> } };
    };
    expect(bookmark.object.metadata.annotations).toEqual({ 'k8s.io/initial-events-end': 'true' });
    const rv = bookmark.object.metadata.resourceVersion;
    const resumed = watchLines(
      sb,
      `/api/v1/namespaces/veloz/configmaps?watch=true&resourceVersion=${rv}`,
      (ev) => ev.length >= 2,
    );
    await sb.request('POST', '/api/v1/namespaces/veloz/configmaps', { metadata: { name: 'w1' } });
    await sb.request('DELETE', '/api/v1/namespaces/veloz/configmaps/w1');
    expect((await resumed).map((e) => e.type)).toEqual(['ADDED', 'DELETED']);
    sb.compact();
    const expired = await watchLines(
      sb,
      `/api/v1/namespaces/veloz/configmaps?watch=true&resourceVersion=${rv}`,
      (ev) => ev.length >= 1,
    );
    expect(expired[0]).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
  });

  test('server-side apply: create, field ownership, 409 on conflicts, force takes the field', async () => {
    const applyPath = (force: boolean) =>
      `/apis/apps/v1/namespaces/veloz/deployments/ssa?fieldManager=helm&force=${force}`;
    const body = (replicas: number, image: string) => ({
      ...deployment('ssa'),
      spec: {
        ...(deployment('ssa').spec as Json),
        replicas,
        template: { metadata: { labels: { app: 'ssa' } }, spec: { containers: [{ name: 'main', image }] } },
      },
    });
    expect(
      (
        await sb.request('PATCH', applyPath(false), body(1, 'veloz/engine:1'), {
          contentType: 'application/apply-patch+yaml',
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await sb.request(
          'PATCH',
          '/apis/apps/v1/namespaces/veloz/deployments/ssa/scale?fieldManager=kubectl',
          { spec: { replicas: 3 } },
          { contentType: 'application/merge-patch+json' },
        )
      ).status,
    ).toBe(200);
    const managers = (sb.get('deployments', 'veloz', 'ssa')?.metadata.managedFields ?? []) as {
      manager: string;
      operation: string;
      fieldsV1: { 'f:spec'?: Record<string, unknown> };
    }[];
    expect(managers.find((m) => m.manager === 'kubectl')).toMatchObject({
      operation: 'Update',
      fieldsV1: { 'f:spec': { 'f:replicas': {} } },
    });
    expect(managers.find((m) => m.manager === 'helm')?.fieldsV1['f:spec']).not.toHaveProperty('f:replicas');

    // Changing only the image does not touch kubectl's field; re-applying replicas=1 does.
    expect(
      (
        await sb.request(
          'PATCH',
          applyPath(false),
          { ...body(3, 'veloz/engine:2') },
          { contentType: 'application/apply-patch+yaml' },
        )
      ).status,
    ).toBe(200);
    const conflict = await sb.request('PATCH', applyPath(false), body(1, 'veloz/engine:2'), {
      contentType: 'application/apply-patch+yaml',
    });
    expect(conflict.json).toMatchObject({
      code: 409,
      reason: 'Conflict',
      message: 'Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas',
    });
    expect((sb.get('deployments', 'veloz', 'ssa')?.spec as { replicas: number }).replicas).toBe(3);
    expect(
      (
        await sb.request('PATCH', applyPath(true), body(1, 'veloz/engine:2'), {
          contentType: 'application/apply-patch+yaml',
        })
      ).status,
    ).toBe(200);
    expect((sb.get('deployments', 'veloz', 'ssa')?.spec as { replicas: number }).replicas).toBe(1);
    await sb.request('DELETE', '/apis/apps/v1/namespaces/veloz/deployments/ssa');
  });

  test('deployments: generation/observedGeneration, scale subresource, status subresource ignores spec', async () => {
    expect((await sb.request('POST', '/apis/apps/v1/namespaces/veloz/deployments', deployment('gen'))).status).toBe(
      201,
    );
    const ready = await sb.waitFor(
      'deployments',
      'veloz',
      'gen',
      (d) => (d?.status as { availableReplicas?: number } | undefined)?.availableReplicas === 1,
      20_000,
    );
    expect(ready?.metadata.generation).toBe(1);
    expect((ready?.status as { observedGeneration: number }).observedGeneration).toBe(1);
    const scale = await sb.request(
      'PATCH',
      '/apis/apps/v1/namespaces/veloz/deployments/gen/scale',
      { spec: { replicas: 3 } },
      { contentType: 'application/merge-patch+json' },
    );
    expect(scale.json).toMatchObject({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      spec: { replicas: 3 },
      status: { selector: 'app=gen' },
    });
    const after = sb.get('deployments', 'veloz', 'gen');
    expect(after?.metadata.generation).toBe(2);
    await sb.waitFor(
      'deployments',
      'veloz',
      'gen',
      (d) => (d?.status as { readyReplicas?: number; observedGeneration?: number } | undefined)?.readyReplicas === 3,
      20_000,
    );

    const rsList = sb.list('replicasets', 'veloz', 'app=gen');
    expect(rsList).toHaveLength(1);
    expect(() => new ReplicaSet(rsList[0] as never).validate()).not.toThrow();
    for (const pod of sb.list('pods', 'veloz', 'app=gen')) expect(() => new Pod(pod as never).validate()).not.toThrow();
    const ep = await sb.waitFor('endpoints', 'veloz', 'gen-svc', (e) => !!e, 1).catch(() => undefined);
    expect(ep).toBeUndefined();
    for (const ev of sb.list('events', 'veloz')) expect(() => new Event(ev as never).validate()).not.toThrow();
  });

  test('services get a ClusterIP and Endpoints that follow Ready pods; services/proxy reaches an engine', async () => {
    const svc = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'gen' },
      spec: { selector: { app: 'gen' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    };
    const created = (await sb.request('POST', '/api/v1/namespaces/veloz/services', svc)).json as {
      spec: { clusterIP: string };
    };
    expect(created.spec.clusterIP).toMatch(/^10\.96\./);
    const ep = await sb.waitFor(
      'endpoints',
      'veloz',
      'gen',
      (e) => ((e?.subsets as { addresses?: unknown[] }[] | undefined)?.[0]?.addresses?.length ?? 0) === 3,
      20_000,
    );
    expect(() => new Endpoints(ep as never).validate()).not.toThrow();
    const health = await sb.request('GET', '/api/v1/namespaces/veloz/services/gen:http/proxy/health');
    expect(health.status).toBe(200);
  });

  test('garbage collection: orphan keeps dependents, background removes them', async () => {
    await sb.request('DELETE', '/apis/apps/v1/namespaces/veloz/deployments/gen', { propagationPolicy: 'Orphan' });
    await eventually(() => !sb.get('deployments', 'veloz', 'gen'), 10_000, 'deployment gone');
    const rs = sb.list('replicasets', 'veloz', 'app=gen');
    expect(rs).toHaveLength(1);
    expect(rs[0]?.metadata.ownerReferences).toBeUndefined();
    await sb.request('DELETE', `/apis/apps/v1/namespaces/veloz/replicasets/${rs[0]?.metadata.name}`);
    await eventually(() => sb.list('pods', 'veloz', 'app=gen').length === 0, 20_000, 'pods collected');
  });

  test('journal records every request; RBAC per token answers 403 and access reviews from its rules', async () => {
    sb.journal.clear();
    sb.addToken('viewer-token', 'viewer', {
      kind: 'Role',
      rules: [{ apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get', 'list', 'watch'] }],
    });
    expect(
      (await sb.request('GET', '/api/v1/namespaces/veloz/pods', undefined, { token: 'viewer-token' })).status,
    ).toBe(200);
    const denied = await sb.request('DELETE', '/api/v1/namespaces/veloz/pods/x', undefined, { token: 'viewer-token' });
    expect(denied.json).toMatchObject({
      code: 403,
      reason: 'Forbidden',
      message:
        'pods "x" is forbidden: User "viewer" cannot delete resource "pods" in API group "" in the namespace "veloz"',
    });
    const listDenied = await sb.request('GET', '/apis/apps/v1/namespaces/veloz/deployments', undefined, {
      token: 'viewer-token',
    });
    expect((listDenied.json as { message: string }).message).toBe(
      'deployments.apps is forbidden: User "viewer" cannot list resource "deployments" in API group "apps" in the namespace "veloz"',
    );
    const review = (verb: string, resource: string) =>
      sb.request(
        'POST',
        '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
        {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: { resourceAttributes: { namespace: 'veloz', verb, resource } },
        },
        { token: 'viewer-token' },
      );
    expect(((await review('list', 'pods')).json as { status: { allowed: boolean } }).status.allowed).toBe(true);
    expect(((await review('delete', 'pods')).json as { status: { allowed: boolean } }).status.allowed).toBe(false);

    const entries = sb.journal.list({ user: 'viewer' });
    expect(entries.map((e) => [e.verb, e.resource, e.code])).toEqual(
      expect.arrayContaining([
        ['list', 'pods', 200],
        ['delete', 'pods', 403],
        ['list', 'deployments', 403],
        ['create', 'selfsubjectaccessreviews', 201],
      ]),
    );
    expect(entries.find((e) => e.verb === 'delete')).toMatchObject({ namespace: 'veloz', name: 'x', apiGroup: '' });
    expect(sb.journal.dump({ user: 'viewer' }).trim().split('\n')).toHaveLength(entries.length);
  });

  test('API faults: 503 for N requests, latency, connection reset, watch closed mid-stream, 410 on re-watch', async () => {
    sb.faults.add({ verbs: ['get'], resources: ['configmaps'], action: { type: 'status', code: 503 }, count: 2 });
    await sb.request('POST', '/api/v1/namespaces/veloz/configmaps', { metadata: { name: 'f1' } });
    expect((await sb.request('GET', '/api/v1/namespaces/veloz/configmaps/f1')).json).toMatchObject({
      code: 503,
      reason: 'ServiceUnavailable',
    });
    expect((await sb.request('GET', '/api/v1/namespaces/veloz/configmaps/f1')).status).toBe(503);
    expect((await sb.request('GET', '/api/v1/namespaces/veloz/configmaps/f1')).status).toBe(200);

    const resetId = sb.faults.add({ verbs: ['list'], resources: ['secrets'], action: { type: 'reset' } });
    await expect(sb.request('GET', '/api/v1/namespaces/veloz/secrets')).rejects.toThrow();
    sb.faults.remove(resetId);
    expect(sb.journal.list({ resource: 'secrets', code: 0 })).toHaveLength(1);
    expect((await sb.request('GET', '/api/v1/namespaces/veloz/secrets')).status).toBe(200);

    sb.faults.add({
      verbs: ['watch'],
      resources: ['configmaps'],
      action: { type: 'watch-close', afterMs: 100 },
      count: 1,
    });
    const ended = await watchLines(sb, '/api/v1/namespaces/veloz/configmaps?watch=true', () => false);
    expect(ended.length).toBeGreaterThan(0);
    expect(ended.every((e) => e.type === 'ADDED')).toBe(true);
    sb.faults.add({
      verbs: ['watch'],
      resources: ['configmaps'],
      action: { type: 'watch-close', afterMs: 100, abrupt: true },
      count: 1,
    });
    const dropped = await watchLines(sb, '/api/v1/namespaces/veloz/configmaps?watch=true', () => false);
    expect(dropped.every((e) => e.type === 'ADDED')).toBe(true);

    sb.faults.add({ verbs: ['watch'], resources: ['configmaps'], action: { type: 'watch-gone' }, count: 1 });
    const gone = await watchLines(
      sb,
      '/api/v1/namespaces/veloz/configmaps?watch=true&resourceVersion=1',
      (ev) => ev.length > 0,
    );
    expect(gone[0]).toMatchObject({ type: 'ERROR', object: { code: 410 } });
    expect(sb.journal.list({ resource: 'configmaps', code: 503 }).length).toBe(2);
    sb.faults.clear();
  });

  test('kubectl-style Table responses for get', async () => {
    const r = await sb.request('GET', '/api/v1/nodes', undefined);
    expect(r.status).toBe(200);
    const table = await new Promise<Json>((resolve, reject) => {
      const req = httpsRequest(
        new URL('/api/v1/nodes', sb.url),
        {
          ca: sb.caCert,
          headers: {
            authorization: `Bearer ${sb.token}`,
            accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json',
          },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve(JSON.parse(text) as Json));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(table).toMatchObject({
      kind: 'Table',
      apiVersion: 'meta.k8s.io/v1',
      columnDefinitions: expect.arrayContaining([expect.objectContaining({ name: 'Status' })]),
    });
    expect((table.rows as { cells: unknown[] }[])[0]?.cells.slice(0, 2)).toEqual(['sandbox-node-1', 'Ready']);
  });
});
