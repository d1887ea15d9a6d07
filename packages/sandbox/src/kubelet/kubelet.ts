import type * as EngineIndex from '../engine/index';
import type { Registry } from '../api/registry';
import { R } from '../api/resources';
import type { EventRecorder } from '../controllers/events';
import { asPod, type Pod } from '../controllers/helpers';
import type { DegradeSpec, EngineHandle } from '../engine/index';
import type { StoreEvent } from '../store/store';
import { coalesced, rfc3339, type KubeObject } from '../util';
import { ContainerSim } from './container';
import type { ProfileRegistry, ProfileSpec } from './profiles';

export interface KubeletOptions {
  /** Time from a pod being scheduled to its containers running. */
  startupDelayMs: number;
  /** How often readiness probes run (the pod's periodSeconds is not honoured, to keep tests quick). */
  probeIntervalMs: number;
  backoffMs: number;
  maxBackoffMs: number;
  /** Time a deleted pod stays Terminating before it is removed. */
  terminationDelayMs: number;
  /** Bearer token the engine doubles require for POST /api/order. */
  testToken: string;
  /** Back healthy/degrade containers with the engine double (false: time-based readiness only). */
  engines: boolean;
  /** Synthetic requests per second each engine records (engine default when undefined). */
  engineSyntheticRps?: number;
}

interface ProbeState {
  successes: number;
  failures: number;
  inFlight: boolean;
  lastUnhealthyEvent: number;
}

interface ConditionState {
  status: string;
  lastTransitionTime: string;
  reason?: string;
  message?: string;
}

/** Everything the kubelet keeps about one running pod. */
export class PodRuntime {
  containers: ContainerSim[] = [];
  engine: EngineHandle | undefined;
  engineStarting = false;
  probes = new Map<string, ProbeState>();
  conditions = new Map<string, ConditionState>();
  terminating = false;
  stopped = false;
  readonly startTime = rfc3339();

  constructor(
    readonly uid: string,
    readonly namespace: string,
    readonly name: string,
    readonly podIP: string,
    readonly hostIP: string,
  ) {}

  container(name?: string): ContainerSim | undefined {
    return name ? this.containers.find((c) => c.name === name) : this.containers[0];
  }
}

type EngineModule = typeof EngineIndex;

/**
 * The node agent for every sandbox node: runs pods' containers through their image profiles,
 * backs healthy/degrade containers with an engine double, probes readiness over HTTP and
 * reports pod status; removes pods once they have terminated.
 */
export class Kubelet {
  private readonly runtimes = new Map<string, PodRuntime>();
  private unsubscribe: (() => void) | undefined;
  private unsubscribeProfiles: (() => void) | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly schedule = coalesced(
    () => this.reconcile(),
    () => this.stopped,
  );
  private engineModule: Promise<EngineModule> | undefined;

  constructor(
    private readonly reg: Registry,
    private readonly events: EventRecorder,
    private readonly profiles: ProfileRegistry,
    private readonly opts: KubeletOptions,
  ) {}

  start(): void {
    this.unsubscribe = this.reg.store.subscribe((e: StoreEvent) => {
      if (e.resource === '/pods') this.schedule();
    });
    this.unsubscribeProfiles = this.profiles.onChange(() => this.applyProfileChanges());
    this.probeTimer = setInterval(() => this.probeAll(), this.opts.probeIntervalMs);
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribeProfiles?.();
    if (this.probeTimer) clearInterval(this.probeTimer);
    await Promise.all([...this.runtimes.values()].map((rt) => this.stopRuntime(rt)));
    this.runtimes.clear();
  }

  /** The runtime of a pod (for logs and proxying). */
  runtime(namespace: string, name: string): PodRuntime | undefined {
    for (const rt of this.runtimes.values())
      if (rt.namespace === namespace && rt.name === name && !rt.stopped) return rt;
    return undefined;
  }

  /** All engines currently running (for scrape targets and tests). */
  engines(): EngineHandle[] {
    return [...this.runtimes.values()].flatMap((rt) => (rt.engine ? [rt.engine] : []));
  }

  loadEngineModule(): Promise<EngineModule> {
    this.engineModule ??= import('../engine/index');
    return this.engineModule;
  }

  private reconcile(): void {
    const seen = new Set<string>();
    for (const o of this.reg.list(R.pods)) {
      const pod = asPod(o);
      const uid = pod.metadata.uid ?? '';
      seen.add(uid);
      let rt = this.runtimes.get(uid);
      if (!rt && pod.spec?.nodeName && !pod.metadata.deletionTimestamp) rt = this.startPod(pod);
      if (!rt) {
        // Deleted before it ever ran.
        if (pod.metadata.deletionTimestamp)
          this.reg.finalizeDeletion(R.pods, pod.metadata.namespace, pod.metadata.name ?? '');
        continue;
      }
      if (pod.metadata.deletionTimestamp && !rt.terminating) this.terminate(rt);
    }
    for (const [uid, rt] of this.runtimes) {
      if (!seen.has(uid)) {
        this.runtimes.delete(uid);
        void this.stopRuntime(rt);
      }
    }
  }

  private startPod(pod: Pod): PodRuntime {
    const node = this.reg.tryGet(R.nodes, undefined, pod.spec?.nodeName ?? '');
    const hostIP =
      ((node?.status as { addresses?: { type: string; address: string }[] } | undefined)?.addresses ?? []).find(
        (a) => a.type === 'InternalIP',
      )?.address ?? '127.0.0.1';
    const rt = new PodRuntime(
      pod.metadata.uid ?? '',
      pod.metadata.namespace ?? 'default',
      pod.metadata.name ?? '',
      this.reg.ips.podIp(),
      hostIP,
    );
    this.runtimes.set(rt.uid, rt);
    const podRef = `${rt.name}_${rt.namespace}(${rt.uid})`;
    for (const c of pod.spec?.containers ?? []) {
      const image = c.image ?? '';
      const sim: ContainerSim = new ContainerSim(
        c.name,
        image,
        podRef,
        this.profiles.resolve(image),
        {
          startupDelayMs: this.opts.startupDelayMs,
          backoffMs: this.opts.backoffMs,
          maxBackoffMs: this.opts.maxBackoffMs,
        },
        {
          changed: () => this.writeStatus(rt),
          event: (type, reason, message) => this.podEvent(rt, type, reason, message),
          started: () => this.containerStarted(rt, sim),
          exited: () => this.containerExited(rt, sim),
        },
      );
      rt.containers.push(sim);
      rt.probes.set(c.name, { successes: 0, failures: 0, inFlight: false, lastUnhealthyEvent: 0 });
    }
    this.writeStatus(rt);
    for (const c of rt.containers) c.begin();
    return rt;
  }

  private podEvent(rt: PodRuntime, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const pod = this.reg.tryGet(R.pods, rt.namespace, rt.name);
    if (pod && !rt.stopped)
      this.events.record(pod, type, reason, message, {
        component: 'kubelet',
        host: (pod.spec as { nodeName?: string }).nodeName ?? '',
      });
  }

  private containerStarted(rt: PodRuntime, c: ContainerSim): void {
    if (!this.opts.engines) {
      // Time-based readiness: without engine doubles, a healthy container is Ready once it runs.
      if (c.engineBacked) c.ready = true;
      return;
    }
    if (c.engineBacked && !rt.engine && !rt.engineStarting) void this.startEngine(rt, c.profile);
  }

  private containerExited(rt: PodRuntime, c: ContainerSim): void {
    const state = rt.probes.get(c.name);
    if (state) {
      state.successes = 0;
      state.failures = 0;
    }
    if (rt.engine && !rt.containers.some((x) => x !== c && x.engineBacked && x.running)) {
      const engine = rt.engine;
      rt.engine = undefined;
      void engine.stop();
    }
  }

  private async startEngine(rt: PodRuntime, profile: ProfileSpec): Promise<void> {
    rt.engineStarting = true;
    try {
      const mod = await this.loadEngineModule();
      const pod = this.reg.tryGet(R.pods, rt.namespace, rt.name);
      const engine = await mod.startEngine({
        namespace: rt.namespace,
        podName: rt.name,
        image: rt.containers.find((c) => c.engineBacked)?.image ?? '',
        testToken: this.opts.testToken,
        ...(profile.name === 'degrade' ? { behaviour: mod.parseDegrade(profile.params) } : {}),
        ...(this.opts.engineSyntheticRps !== undefined
          ? { syntheticRequestsPerSecond: this.opts.engineSyntheticRps }
          : {}),
        ...(pod?.metadata.labels ? { podLabels: pod.metadata.labels } : {}),
      });
      if (rt.stopped || rt.terminating || this.stopped) {
        await engine.stop();
        return;
      }
      rt.engine = engine;
    } catch (err) {
      this.podEvent(
        rt,
        'Warning',
        'Failed',
        `engine double failed to start: ${err instanceof Error ? err.message : String(err)}`,
      );
    } finally {
      rt.engineStarting = false;
    }
  }

  private terminate(rt: PodRuntime): void {
    rt.terminating = true;
    for (const c of rt.containers) c.stop();
    setTimeout(() => {
      void this.stopRuntime(rt).then(() => {
        this.runtimes.delete(rt.uid);
        if (!this.stopped) this.reg.finalizeDeletion(R.pods, rt.namespace, rt.name);
      });
    }, this.opts.terminationDelayMs);
  }

  private async stopRuntime(rt: PodRuntime): Promise<void> {
    if (rt.stopped) return;
    rt.stopped = true;
    for (const c of rt.containers) c.stop();
    const engine = rt.engine;
    rt.engine = undefined;
    if (engine) await engine.stop();
  }

  /** Live profile changes: degrade/healthy engines switch behaviour in place; other profiles apply to new containers. */
  private applyProfileChanges(): void {
    for (const rt of this.runtimes.values()) {
      for (const c of rt.containers) {
        const next = this.profiles.resolve(c.image);
        const engineToEngine = c.engineBacked && (next.name === 'healthy' || next.name === 'degrade');
        if (!engineToEngine) continue;
        c.profile = next;
        if (rt.engine) {
          void this.loadEngineModule().then((mod) => {
            const spec: DegradeSpec | undefined = next.name === 'degrade' ? mod.parseDegrade(next.params) : undefined;
            rt.engine?.setBehaviour(spec);
          });
        }
      }
    }
  }

  private probeAll(): void {
    for (const rt of this.runtimes.values()) {
      if (rt.stopped || rt.terminating) continue;
      const pod = this.reg.tryGet(R.pods, rt.namespace, rt.name);
      if (!pod) continue;
      for (const c of rt.containers) void this.probe(rt, asPod(pod), c);
    }
  }

  private async probe(rt: PodRuntime, pod: Pod, c: ContainerSim): Promise<void> {
    const state = rt.probes.get(c.name);
    if (!state || state.inFlight || !c.running) return;
    const spec = pod.spec?.containers?.find((x) => x.name === c.name);
    const probe = spec?.readinessProbe;
    let ok: boolean;
    let failure = '';
    if (c.profile.name === 'never-ready') {
      ok = false;
      failure = 'HTTP probe failed with statuscode: 503';
    } else if (!this.opts.engines) {
      ok = c.engineBacked;
      failure = 'HTTP probe failed with statuscode: 503';
    } else if (!probe) {
      // No readiness probe: Ready while running (and, for engine-backed containers, once the engine listens).
      ok = !c.engineBacked || !!rt.engine;
    } else if (!probe.httpGet) {
      ok = !c.engineBacked || !!rt.engine;
    } else if (!rt.engine) {
      ok = false;
      const port = probe.httpGet.port;
      failure = `Get "http://${rt.podIP}:${String(port)}${probe.httpGet.path ?? '/'}": dial tcp ${rt.podIP}:${String(port)}: connect: connection refused`;
    } else {
      state.inFlight = true;
      const path = probe.httpGet.path ?? '/';
      try {
        const res = await fetch(`${rt.engine.url}${path.startsWith('/') ? path : `/${path}`}`, {
          signal: AbortSignal.timeout((probe.timeoutSeconds ?? 1) * 1000),
        });
        ok = res.status >= 200 && res.status < 400;
        await res.body?.cancel();
        if (!ok) failure = `HTTP probe failed with statuscode: ${res.status}`;
      } catch (err) {
        ok = false;
        failure = `Get "http://${rt.podIP}:${String(probe.httpGet.port)}${path}": ${err instanceof Error && err.name === 'TimeoutError' ? 'context deadline exceeded (Client.Timeout exceeded while awaiting headers)' : 'connection refused'}`;
      } finally {
        state.inFlight = false;
      }
    }
    if (rt.stopped || rt.terminating || !c.running) return;
    if (ok) {
      state.successes++;
      state.failures = 0;
      if (!c.ready && state.successes >= (probe?.successThreshold ?? 1)) {
        c.ready = true;
        this.writeStatus(rt);
      }
    } else {
      state.failures++;
      state.successes = 0;
      const now = Date.now();
      if (probe && now - state.lastUnhealthyEvent > 2000) {
        state.lastUnhealthyEvent = now;
        this.podEvent(rt, 'Warning', 'Unhealthy', `Readiness probe failed: ${failure}`);
      }
      if (c.ready && state.failures >= (probe?.failureThreshold ?? 3)) {
        c.ready = false;
        this.writeStatus(rt);
      }
    }
  }

  private condition(
    rt: PodRuntime,
    type: string,
    status: boolean,
    reason?: string,
    message?: string,
  ): KubeObject[string] {
    const s = status ? 'True' : 'False';
    const prev = rt.conditions.get(type);
    const next: ConditionState = {
      status: s,
      lastTransitionTime: prev && prev.status === s ? prev.lastTransitionTime : rfc3339(),
      ...(reason ? { reason } : {}),
      ...(message ? { message } : {}),
    };
    rt.conditions.set(type, next);
    return {
      type,
      status: s,
      lastProbeTime: null,
      lastTransitionTime: next.lastTransitionTime,
      ...(reason && !status ? { reason } : {}),
      ...(message && !status ? { message } : {}),
    };
  }

  private writeStatus(rt: PodRuntime): void {
    if (rt.stopped || this.stopped) return;
    const unready = rt.containers.filter((c) => !c.ready).map((c) => c.name);
    const allReady = unready.length === 0 && rt.containers.length > 0;
    const why = `containers with unready status: [${unready.join(' ')}]`;
    const phase = rt.containers.some((c) => c.initialWaiting) ? 'Pending' : 'Running';
    const conditions = [
      this.condition(rt, 'PodReadyToStartContainers', true),
      this.condition(rt, 'Initialized', true),
      this.condition(rt, 'Ready', allReady, 'ContainersNotReady', why),
      this.condition(rt, 'ContainersReady', allReady, 'ContainersNotReady', why),
      this.condition(rt, 'PodScheduled', true),
    ];
    this.reg.mutate(R.pods, rt.namespace, rt.name, (o) => {
      if (o.metadata.uid !== rt.uid) return;
      o.status = {
        phase,
        conditions,
        hostIP: rt.hostIP,
        hostIPs: [{ ip: rt.hostIP }],
        podIP: rt.podIP,
        podIPs: [{ ip: rt.podIP }],
        startTime: rt.startTime,
        containerStatuses: rt.containers.map((c) => c.status()),
        qosClass: (o.status as { qosClass?: string } | undefined)?.qosClass ?? 'BestEffort',
      };
    });
  }
}
