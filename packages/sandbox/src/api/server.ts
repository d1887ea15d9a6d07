import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Duplex } from 'node:stream';
import { allows, forbidden, type Authenticator, type Identity, type RequestAttributes } from './auth';
import { apiGroup, apiGroupList, apiResourceList, coreVersions, versionInfo } from './discovery';
import { ApiError, badRequest, gone, methodNotAllowed, pathNotFound } from './errors';
import type { Faults, TakenFault } from './faults';
import type { Journal } from './journal';
import { openApiDocument } from './openapi';
import type { DeleteOptions, Registry } from './registry';
import { apiVersionOf, type ResourceDef } from './resources';
import { parseRoute, type ResourceRoute } from './routes';
import { parseFieldSelector, parseLabelSelector } from './selectors';
import { toTable, wantsTable, type IncludeObject } from './tables';
import { serveWatch, type WatchControl } from './watch';
import { accessReview, rulesReview } from './access-review';
import { patchType, readBody, readObject, readOptionalObject, send } from './http-io';
import { serveScale } from './scale';
import { isPlainObject, sleep, type JsonObject, type KubeObject } from '../util';

/** What the kubelet side provides for pod and service subresources. */
export interface SubresourceBackends {
  podLog(route: ResourceRoute, query: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void> | void;
  podProxy(route: ResourceRoute, req: IncomingMessage, res: ServerResponse): void;
  serviceProxy(route: ResourceRoute, req: IncomingMessage, res: ServerResponse): void;
  /** WebSocket (or other Upgrade) through pods/proxy or services/proxy. */
  proxyUpgrade(route: ResourceRoute, req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

export interface ApiServerOptions {
  registry: Registry;
  auth: Authenticator;
  journal: Journal;
  faults: Faults;
  backends: SubresourceBackends;
  bookmarkIntervalMs?: number;
  /** TLS key and certificate (PEM). */
  tls: { key: string; cert: string };
  /** Sandbox control endpoints under /sandbox/ (profiles, journal, targets), for the CLI. */
  control?: (path: string, req: IncomingMessage, res: ServerResponse, user: Identity) => Promise<boolean>;
}

interface RequestContext {
  verb: string;
  attrs: RequestAttributes;
  user: Identity;
}

const READ_VERBS: Record<string, string> = { GET: 'get', HEAD: 'get' };

/** The HTTP face of the sandbox: authentication, journal, faults, then Kubernetes REST semantics. */
export class ApiServer {
  readonly http: Server;
  private readonly sockets = new Set<Duplex>();

  constructor(private readonly o: ApiServerOptions) {
    this.http = createServer({ key: o.tls.key, cert: o.tls.cert }, (req, res) => void this.handle(req, res));
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.handleUpgrade(req, socket, head),
    );
    this.http.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.http.keepAliveTimeout = 30_000;
  }

  listen(port = 0, host = '127.0.0.1'): Promise<number> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => {
        const addr = this.http.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.http.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const route = parseRoute(url.pathname);
    const user = this.o.auth.authenticate(req.headers.authorization);
    const ctx = describe(req.method ?? 'GET', route, url.searchParams, user);
    res.on('finish', () => this.journal(req, res, ctx, url, started));
    res.on('close', () => {
      if (!res.writableFinished) this.journal(req, res, ctx, url, started);
    });
    try {
      if (!user) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
      if (url.pathname.startsWith('/sandbox/') && this.o.control) {
        // Only the unrestricted (admin) token may steer the sandbox itself.
        if (user.rules)
          throw new ApiError(
            403,
            'Forbidden',
            `forbidden: User "${user.name}" cannot use the sandbox control endpoint "${url.pathname}"`,
          );
        if (await this.o.control(url.pathname, req, res, user)) return;
        throw pathNotFound();
      }
      const faulted = await this.applyFaults(ctx, req, res);
      if (faulted === 'handled') return;
      if (!allows(user.rules, ctx.attrs)) throw forbidden(user, ctx.attrs);
      await this.dispatch(route, ctx, url, req, res, faulted);
    } catch (err) {
      this.fail(res, err);
    }
  }

  private journaled = new WeakSet<ServerResponse>();
  private journal(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, url: URL, started: number): void {
    if (this.journaled.has(res)) return;
    this.journaled.add(res);
    const a = ctx.attrs;
    this.o.journal.record({
      time: new Date(started).toISOString(),
      verb: ctx.verb,
      resource: a.resource,
      apiGroup: a.apiGroup,
      ...(a.subresource ? { subresource: a.subresource } : {}),
      ...(a.namespace ? { namespace: a.namespace } : {}),
      ...(a.name ? { name: a.name } : {}),
      user: ctx.user.name,
      code: res.statusCode,
      method: req.method ?? 'GET',
      path: url.pathname + url.search,
      ...(req.headers['user-agent'] ? { userAgent: req.headers['user-agent'] } : {}),
      durationMs: Date.now() - started,
    });
  }

  private async applyFaults(
    ctx: RequestContext,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<'handled' | WatchControl> {
    if (!ctx.attrs.resource) return {};
    const actions: TakenFault[] = this.o.faults.take({
      verb: ctx.verb,
      resource: ctx.attrs.resource,
      ...(ctx.attrs.subresource ? { subresource: ctx.attrs.subresource } : {}),
      ...(ctx.attrs.namespace ? { namespace: ctx.attrs.namespace } : {}),
    });
    const control: WatchControl = {};
    for (const a of actions) {
      if (a.type === 'latency') await sleep(a.ms);
      else if (a.type === 'hang') {
        const gone = new AbortController();
        res.once('close', () => gone.abort());
        await this.o.faults.hang(a.ruleId, gone.signal);
        if (gone.signal.aborted) return 'handled';
      } else if (a.type === 'reset') {
        // TLS sockets cannot send a TCP RST from Node; an abrupt close is what the client sees either way.
        // The journal records code 0 for it.
        res.statusCode = 0;
        req.socket.destroy();
        return 'handled';
      } else if (a.type === 'status') {
        const reasons: Record<number, string> = {
          429: 'TooManyRequests',
          500: 'InternalError',
          502: 'InternalError',
          503: 'ServiceUnavailable',
          504: 'Timeout',
        };
        const headers: Record<string, string> =
          a.retryAfterSeconds !== undefined ? { 'Retry-After': String(a.retryAfterSeconds) } : {};
        const message =
          a.message ??
          (a.code === 429 ? 'Too many requests, please try again later.' : 'Internal error occurred: injected fault');
        throw new ApiError(
          a.code,
          reasons[a.code] ?? 'InternalError',
          message,
          a.retryAfterSeconds !== undefined ? { retryAfterSeconds: a.retryAfterSeconds } : undefined,
          headers,
        );
      } else if (a.type === 'watch-close') {
        control.closeAfterMs = a.afterMs;
        if (a.abrupt) control.abrupt = true;
      } else if (a.type === 'watch-gone') control.forceGone = true;
    }
    return control;
  }

  private async dispatch(
    route: ReturnType<typeof parseRoute>,
    ctx: RequestContext,
    url: URL,
    req: IncomingMessage,
    res: ServerResponse,
    control: WatchControl,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    const serverAddress = `${req.socket.localAddress ?? '127.0.0.1'}:${req.socket.localPort ?? 0}`;
    switch (route.type) {
      case 'version':
        return send(res, 200, versionInfo());
      case 'health':
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('ok');
        return;
      case 'coreVersions':
        return send(res, 200, coreVersions(serverAddress));
      case 'groupList':
        return send(res, 200, apiGroupList());
      case 'group': {
        const g = apiGroup(route.group);
        if (!g) throw pathNotFound();
        return send(res, 200, g);
      }
      case 'resourceList': {
        const list = apiResourceList(route.group, route.version);
        if (!list) throw pathNotFound();
        return send(res, 200, list);
      }
      case 'openapi': {
        const doc = openApiDocument(route.path, url.searchParams);
        if (!doc) throw pathNotFound();
        return send(res, 200, doc);
      }
      case 'notFound':
        throw pathNotFound();
      case 'resource':
        break;
    }
    const r = route.route;
    const q = url.searchParams;
    const def = r.def;
    if (r.subresource === 'log') {
      if (method !== 'GET') throw methodNotAllowed();
      this.o.registry.get(def, r.namespace, r.name ?? '');
      return this.o.backends.podLog(r, q, req, res);
    }
    if (r.subresource === 'proxy') {
      this.o.registry.get(
        def,
        r.namespace,
        (r.name ?? '').split(':').filter((p) => p !== 'http' && p !== 'https')[0] ?? '',
      );
      return def.kind === 'Pod' ? this.o.backends.podProxy(r, req, res) : this.o.backends.serviceProxy(r, req, res);
    }
    if (def.kind === 'SelfSubjectAccessReview') return accessReview(ctx.user, req, res);
    if (def.kind === 'SelfSubjectRulesReview') return rulesReview(ctx.user, req, res);
    const dryRun = q.getAll('dryRun').includes('All');
    const fieldManager = q.get('fieldManager') ?? managerFromAgent(req.headers['user-agent']);
    const reg = this.o.registry;

    if (r.name === undefined) {
      switch (method) {
        case 'GET':
          if (q.get('watch') === 'true' || q.get('watch') === '1') return this.watch(r, q, req, res, control);
          return this.list(r, q, req, res);
        case 'POST': {
          const body = await readObject(req);
          const created = reg.create(def, r.namespace, body, { dryRun, fieldManager });
          return send(res, 201, created);
        }
        case 'DELETE': {
          const opts = deleteOptions(q, await readOptionalObject(req));
          const labels = parseLabelSelector(q.get('labelSelector'));
          const fields = parseFieldSelector(q.get('fieldSelector'));
          const deleted: KubeObject[] = [];
          for (const o of reg.list(def, r.namespace)) {
            if (!labels(o.metadata.labels) || !fields(o)) continue;
            deleted.push(reg.delete(def, o.metadata.namespace, o.metadata.name ?? '', { ...opts, dryRun }));
          }
          return send(res, 200, listOf(def, deleted, String(reg.store.currentRevision)));
        }
        default:
          throw methodNotAllowed();
      }
    }

    const name = r.name;
    if (r.subresource === 'scale') return serveScale(this.o.registry, r, method, req, res, { dryRun, fieldManager });
    const subresource = r.subresource === 'status' ? ('status' as const) : undefined;
    if (r.subresource && !subresource && r.subresource !== 'finalize') throw pathNotFound();
    switch (method) {
      case 'GET':
      case 'HEAD': {
        const o = reg.get(def, r.namespace, name);
        if (wantsTable(req.headers.accept))
          return send(
            res,
            200,
            toTable(def.kind, [o], includeObject(q), { resourceVersion: o.metadata.resourceVersion ?? '' }),
          );
        return send(res, 200, o);
      }
      case 'PUT': {
        const body = await readObject(req);
        if (!isPlainObject(body.metadata)) throw badRequest('the object has no metadata');
        return send(
          res,
          200,
          reg.update(def, r.namespace, name, body, { dryRun, fieldManager, ...(subresource ? { subresource } : {}) }),
        );
      }
      case 'PATCH': {
        const type = patchType(req.headers['content-type']);
        const body = await readBody(req, type === 'apply');
        const force = q.get('force') === 'true';
        const patched = reg.patch(def, r.namespace, name, type, body, {
          dryRun,
          force,
          fieldManager: q.get('fieldManager') ?? (type === 'apply' ? undefined : fieldManager),
          ...(subresource ? { subresource } : {}),
        });
        return send(res, 200, patched);
      }
      case 'DELETE': {
        const opts = deleteOptions(q, await readOptionalObject(req));
        return send(res, 200, reg.delete(def, r.namespace, name, { ...opts, dryRun }));
      }
      default:
        throw methodNotAllowed();
    }
  }

  private list(r: ResourceRoute, q: URLSearchParams, req: IncomingMessage, res: ServerResponse): void {
    const reg = this.o.registry;
    const labels = parseLabelSelector(q.get('labelSelector'));
    const fields = parseFieldSelector(q.get('fieldSelector'));
    const limit = Number(q.get('limit') ?? 0);
    const cont = q.get('continue');
    let rv = String(reg.store.currentRevision);
    let startAfter = '';
    if (cont) {
      const token = decodeContinue(cont);
      if (Number(token.rv) < reg.store.oldestWatchableRevision) {
        throw gone(
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
        );
      }
      rv = token.rv;
      startAfter = token.start;
    }
    const keyOf = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
    let items = reg
      .list(r.def, r.namespace)
      .filter((o) => labels(o.metadata.labels) && fields(o) && (!startAfter || keyOf(o) > startAfter));
    const meta: JsonObject = { resourceVersion: rv };
    if (limit > 0 && items.length > limit) {
      const remaining = items.length - limit;
      items = items.slice(0, limit);
      meta.continue = Buffer.from(JSON.stringify({ rv, start: keyOf(items[items.length - 1] as KubeObject) })).toString(
        'base64url',
      );
      meta.remainingItemCount = remaining;
    }
    if (wantsTable(req.headers.accept)) return send(res, 200, toTable(r.def.kind, items, includeObject(q), meta));
    send(res, 200, { ...listOf(r.def, items, rv), metadata: meta });
  }

  private watch(
    r: ResourceRoute,
    q: URLSearchParams,
    req: IncomingMessage,
    res: ServerResponse,
    control: WatchControl,
  ): void {
    const timeout = q.get('timeoutSeconds');
    const rv = q.get('resourceVersion');
    serveWatch(
      this.o.registry.store,
      {
        def: r.def,
        ...(r.namespace !== undefined ? { namespace: r.namespace } : {}),
        labels: parseLabelSelector(q.get('labelSelector')),
        fields: parseFieldSelector(q.get('fieldSelector')),
        ...(rv !== null ? { resourceVersion: rv } : {}),
        sendInitialEvents: q.get('sendInitialEvents') === 'true',
        allowBookmarks: q.get('allowWatchBookmarks') === 'true',
        ...(timeout ? { timeoutSeconds: Number(timeout) } : {}),
        bookmarkIntervalMs: this.o.bookmarkIntervalMs ?? 5000,
        ...(wantsTable(req.headers.accept) ? { table: includeObject(q) } : {}),
      },
      req,
      res,
      control,
    );
  }

  private handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const route = parseRoute(url.pathname);
    const user = this.o.auth.authenticate(req.headers.authorization);
    const ctx = describe('GET', route, url.searchParams, user);
    const reject = (err: ApiError): void => {
      const body = JSON.stringify(err.toStatus());
      socket.end(
        `HTTP/1.1 ${err.code} ${err.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    };
    if (!user) return reject(new ApiError(401, 'Unauthorized', 'Unauthorized'));
    if (route.type !== 'resource' || route.route.subresource !== 'proxy') return reject(pathNotFound());
    if (!allows(user.rules, ctx.attrs)) return reject(forbidden(user, ctx.attrs));
    try {
      this.o.backends.proxyUpgrade(route.route, req, socket, head);
    } catch (err) {
      reject(err instanceof ApiError ? err : new ApiError(500, 'InternalError', String(err)));
    }
  }

  private fail(res: ServerResponse, err: unknown): void {
    const apiErr =
      err instanceof ApiError
        ? err
        : new ApiError(
            500,
            'InternalError',
            `Internal error occurred: ${err instanceof Error ? err.message : String(err)}`,
          );
    if (!(err instanceof ApiError)) console.error('sandbox: internal error', err);
    if (res.headersSent) {
      res.end();
      return;
    }
    res.writeHead(apiErr.code, { 'Content-Type': 'application/json', ...apiErr.headers });
    res.end(JSON.stringify(apiErr.toStatus()));
  }
}

function describe(
  method: string,
  route: ReturnType<typeof parseRoute>,
  q: URLSearchParams,
  user: Identity | undefined,
): RequestContext {
  const who: Identity = user ?? { name: 'system:anonymous', groups: ['system:unauthenticated'] };
  if (route.type !== 'resource') {
    const path = route.type === 'openapi' ? route.path : '';
    return {
      verb: READ_VERBS[method] ?? method.toLowerCase(),
      attrs: {
        verb: READ_VERBS[method] ?? method.toLowerCase(),
        apiGroup: '',
        resource: '',
        path: path || nonResourcePath(route),
      },
      user: who,
    };
  }
  const r = route.route;
  let verb: string;
  if (r.subresource === 'proxy')
    verb =
      (
        { GET: 'get', HEAD: 'get', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as Record<
          string,
          string
        >
      )[method] ?? 'get';
  else if (r.name === undefined)
    verb =
      method === 'GET'
        ? q.get('watch') === 'true' || q.get('watch') === '1'
          ? 'watch'
          : 'list'
        : method === 'POST'
          ? 'create'
          : method === 'DELETE'
            ? 'deletecollection'
            : method.toLowerCase();
  else
    verb =
      (
        { GET: 'get', HEAD: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete', POST: 'create' } as Record<
          string,
          string
        >
      )[method] ?? method.toLowerCase();
  return {
    verb,
    attrs: {
      verb,
      apiGroup: r.def.group,
      resource: r.def.plural,
      ...(r.subresource ? { subresource: r.subresource } : {}),
      ...(r.namespace !== undefined ? { namespace: r.namespace } : {}),
      ...(r.name !== undefined ? { name: r.name } : selectedName(verb, q)),
    },
    user: who,
  };
}

/**
 * As Kubernetes' request info does: a list or watch narrowed to one object by
 * `fieldSelector=metadata.name=X` is authorised as a request for X, so a Role with `resourceNames`
 * can watch the one object it names.
 */
function selectedName(verb: string, q: URLSearchParams): { name?: string } {
  if (verb !== 'list' && verb !== 'watch') return {};
  const terms = (q.get('fieldSelector') ?? '').split(',');
  const match = terms.map((t) => /^\s*metadata\.name\s*==?\s*(.+?)\s*$/.exec(t)).find(Boolean);
  return match?.[1] ? { name: match[1] } : {};
}

function nonResourcePath(route: ReturnType<typeof parseRoute>): string {
  switch (route.type) {
    case 'version':
      return '/version';
    case 'health':
      return '/healthz';
    case 'coreVersions':
      return '/api';
    case 'groupList':
      return '/apis';
    case 'group':
      return `/apis/${route.group}`;
    case 'resourceList':
      return route.group ? `/apis/${route.group}/${route.version}` : `/api/${route.version}`;
    default:
      return '/';
  }
}

function listOf(def: ResourceDef, items: KubeObject[], rv: string): JsonObject {
  return { kind: `${def.kind}List`, apiVersion: apiVersionOf(def), metadata: { resourceVersion: rv }, items };
}

function includeObject(q: URLSearchParams): IncludeObject {
  const v = q.get('includeObject');
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}

function decodeContinue(token: string): { rv: string; start: string } {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { rv?: unknown; start?: unknown };
    if (typeof parsed.rv === 'string' && typeof parsed.start === 'string')
      return { rv: parsed.rv, start: parsed.start };
  } catch {
    // fall through
  }
  throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}

function managerFromAgent(agent: string | undefined): string | undefined {
  // The API server names an unnamed manager after the client's user agent ("kubectl", "helm").
  return agent ? (agent.split('/')[0] ?? agent) : undefined;
}

function deleteOptions(q: URLSearchParams, body: JsonObject | undefined): DeleteOptions {
  const policy =
    (body?.propagationPolicy as string | undefined) ??
    q.get('propagationPolicy') ??
    (body?.orphanDependents === true || q.get('orphanDependents') === 'true' ? 'Orphan' : undefined);
  const grace = body?.gracePeriodSeconds ?? q.get('gracePeriodSeconds');
  const pre = body?.preconditions as DeleteOptions['preconditions'] | undefined;
  if (policy && policy !== 'Orphan' && policy !== 'Background' && policy !== 'Foreground')
    throw badRequest(`invalid propagationPolicy "${policy}"`);
  return {
    ...(policy ? { propagationPolicy: policy as DeleteOptions['propagationPolicy'] } : {}),
    ...(grace !== undefined && grace !== null ? { gracePeriodSeconds: Number(grace) } : {}),
    ...(pre ? { preconditions: pre } : {}),
  };
}
