import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { ApiError, badRequest, notFound } from '../api/errors';
import type { Registry } from '../api/registry';
import { R } from '../api/resources';
import type { ResourceRoute } from '../api/routes';
import type { SubresourceBackends } from '../api/server';
import { asPod, podReadySince } from '../controllers/helpers';
import type { Kubelet, PodRuntime } from './kubelet';

// Hop-by-hop headers a proxy must not forward; the API server's own credentials stay here too.
const DROP_HEADERS = new Set([
  'authorization',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'host',
  'te',
  'trailer',
]);

/** pods/log, pods/proxy and services/proxy, backed by the kubelet's runtimes and engine doubles. */
export class KubeletBackends implements SubresourceBackends {
  private roundRobin = 0;

  constructor(
    private readonly reg: Registry,
    private readonly kubelet: Kubelet,
  ) {}

  podLog(route: ResourceRoute, q: URLSearchParams, req: IncomingMessage, res: ServerResponse): void {
    const ns = route.namespace ?? 'default';
    const podName = route.name ?? '';
    const pod = asPod(this.reg.get(R.pods, ns, podName));
    const names = (pod.spec?.containers ?? []).map((c) => c.name);
    const containerName = q.get('container') ?? (names.length === 1 ? names[0] : undefined);
    if (!containerName)
      throw badRequest(`a container name must be specified for pod ${podName}, choose one of: [${names.join(' ')}]`);
    if (!names.includes(containerName)) throw badRequest(`container ${containerName} is not valid for pod ${podName}`);
    const rt = this.kubelet.runtime(ns, podName);
    const c = rt?.container(containerName);
    const status = pod.status?.containerStatuses?.find((s) => s.name === containerName);
    const waiting = status?.state?.waiting;
    const previous = q.get('previous') === 'true';
    if (!rt || !c || (!c.started && !previous)) {
      throw badRequest(
        `container "${containerName}" in pod "${podName}" is waiting to start: ${waiting?.reason ?? 'ContainerCreating'}`,
      );
    }
    if (previous && c.restartCount === 0)
      throw badRequest(`previous terminated container "${containerName}" in pod "${podName}" not found`);
    const tailLines = q.has('tailLines') ? Number(q.get('tailLines')) : undefined;
    const sinceSeconds = q.has('sinceSeconds') ? Number(q.get('sinceSeconds')) : undefined;
    const sinceTime = q.get('sinceTime');
    const timestamps = q.get('timestamps') === 'true';
    const follow = q.get('follow') === 'true' && !previous;
    const limitBytes = q.has('limitBytes') ? Number(q.get('limitBytes')) : undefined;

    let lines: { time: number; line: string }[];
    const engine = rt.engine && c.engineBacked && !previous ? rt.engine : undefined;
    const opts = { ...(sinceSeconds !== undefined ? { sinceSeconds } : {}) };
    if (engine) lines = engine.logEntries(opts).map((e) => ({ time: e.time, line: e.line }));
    else
      lines = (previous ? c.previousLogs : c.logs).filter(
        (l) => sinceSeconds === undefined || l.time >= Date.now() - sinceSeconds * 1000,
      );
    if (sinceTime) lines = lines.filter((l) => l.time >= Date.parse(sinceTime));
    if (tailLines !== undefined) lines = tailLines <= 0 ? [] : lines.slice(-tailLines);
    const render = (time: number, line: string): string =>
      timestamps ? `${new Date(time).toISOString().replace('Z', '000000Z')} ${line}\n` : `${line}\n`;
    let body = lines.map((l) => render(l.time, l.line)).join('');
    if (limitBytes !== undefined && limitBytes > 0) body = body.slice(0, limitBytes);
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private' });
    if (!follow) {
      res.end(body);
      return;
    }
    res.write(body);
    const stopFollowing = (): void => {
      unsubscribe();
      clearInterval(watchdog);
      if (!res.writableEnded) res.end();
    };
    const unsubscribe = engine ? engine.followLogs((line) => res.write(render(Date.now(), line))) : (): void => {};
    // Following ends when the container goes away, like the kubelet's stream does.
    const watchdog = setInterval(() => {
      if (rt.stopped || rt.terminating || (engine && rt.engine !== engine)) stopFollowing();
    }, 200);
    req.on('close', stopFollowing);
  }

  podProxy(route: ResourceRoute, req: IncomingMessage, res: ServerResponse): void {
    const { name, port } = splitProxyName(route.name ?? '');
    const rt = this.kubelet.runtime(route.namespace ?? 'default', name);
    this.forward(this.targetOf(rt, name, port), route.rest ?? '/', req, res);
  }

  serviceProxy(route: ResourceRoute, req: IncomingMessage, res: ServerResponse): void {
    const target = this.serviceTarget(route);
    this.forward(target, route.rest ?? '/', req, res);
  }

  proxyUpgrade(route: ResourceRoute, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    let target: { port: number };
    if (route.def.kind === 'Pod') {
      const { name, port } = splitProxyName(route.name ?? '');
      if (!this.reg.tryGet(R.pods, route.namespace, name)) throw notFound(R.pods, name);
      target = this.targetOf(this.kubelet.runtime(route.namespace ?? 'default', name), name, port);
    } else target = this.serviceTarget(route);
    const upstream = connect(target.port, '127.0.0.1', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const lines = [
        `${req.method ?? 'GET'} ${route.rest ?? '/'}${url.search} HTTP/1.1`,
        `Host: 127.0.0.1:${target.port}`,
      ];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const k = req.rawHeaders[i] ?? '';
        const lower = k.toLowerCase();
        if (lower === 'host' || lower === 'authorization') continue;
        lines.push(`${k}: ${req.rawHeaders[i + 1] ?? ''}`);
      }
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    const close = (): void => {
      upstream.destroy();
      socket.destroy();
    };
    upstream.on('error', close);
    socket.on('error', close);
    socket.on('close', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
  }

  private targetOf(rt: PodRuntime | undefined, name: string, port: string | undefined): { port: number } {
    if (!rt?.engine) {
      const ip = rt?.podIP ?? '<none>';
      throw new ApiError(
        503,
        'ServiceUnavailable',
        `error trying to reach service: dial tcp ${ip}:${port ?? '80'}: connect: connection refused`,
        { name, kind: 'pods' },
      );
    }
    return { port: rt.engine.port };
  }

  private serviceTarget(route: ResourceRoute): { port: number } {
    const { name } = splitProxyName(route.name ?? '');
    const ns = route.namespace ?? 'default';
    const svc = this.reg.get(R.services, ns, name);
    const selector = (svc.spec as { selector?: Record<string, string> }).selector ?? {};
    const ready = this.reg
      .list(R.pods, ns)
      .map(asPod)
      .filter(
        (p) =>
          !p.metadata.deletionTimestamp &&
          podReadySince(p) !== undefined &&
          Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v),
      )
      .map((p) => this.kubelet.runtime(ns, p.metadata.name ?? ''))
      .filter((rt): rt is PodRuntime => !!rt?.engine);
    if (ready.length === 0)
      throw new ApiError(503, 'ServiceUnavailable', `no endpoints available for service "${name}"`, {
        name,
        kind: 'services',
      });
    const rt = ready[this.roundRobin++ % ready.length] as PodRuntime;
    return { port: rt.engine!.port };
  }

  private forward(target: { port: number }, path: string, req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !DROP_HEADERS.has(k)) headers[k] = v;
    const upstream = httpRequest(
      { host: '127.0.0.1', port: target.port, method: req.method, path: `${path}${url.search}`, headers },
      (up) => {
        const out: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !DROP_HEADERS.has(k)) out[k] = v;
        res.writeHead(up.statusCode ?? 502, out);
        res.flushHeaders();
        up.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const e = new ApiError(503, 'ServiceUnavailable', `error trying to reach service: ${err.message}`);
      res.writeHead(503, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(e.toStatus()));
    });
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  }
}

/** "pod", "pod:8080", "http:pod:8080", "https:svc:portname" → name and port. */
function splitProxyName(raw: string): { name: string; port?: string } {
  const parts = raw.split(':');
  if (parts.length === 3) return { name: parts[1] ?? '', ...(parts[2] ? { port: parts[2] } : {}) };
  if (parts.length === 2) return { name: parts[0] ?? '', ...(parts[1] ? { port: parts[1] } : {}) };
  return { name: raw };
}
