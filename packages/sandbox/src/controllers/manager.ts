import type { Registry } from '../api/registry';
import { DeploymentController } from './deployment';
import { EndpointsController } from './endpoints';
import type { EventRecorder } from './events';
import { GarbageCollector } from './garbage-collector';
import { HpaController } from './hpa';
import { NamespaceController } from './namespaces';
import { ReplicaSetController } from './replicaset';
import { Scheduler } from './scheduler';

/**
 * Runs every controller as one reconcile pass, after any change (coalesced) and on a short
 * resync tick for time-driven state (minReadySeconds, progress deadlines). Passes are idempotent
 * and unchanged writes are no-ops, so the loop settles.
 */
export class ControllerManager {
  private readonly deployments: DeploymentController;
  private readonly replicasets: ReplicaSetController;
  private readonly scheduler: Scheduler;
  private readonly endpoints: EndpointsController;
  private readonly gc: GarbageCollector;
  private readonly hpa: HpaController;
  private readonly namespaces: NamespaceController;
  private unsubscribe: (() => void) | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private pending = false;
  private stopped = false;
  private lastHpaSync = 0;

  constructor(
    private readonly reg: Registry,
    events: EventRecorder,
    private readonly resyncMs: number,
    /**
     * The HPA controller runs on its own period, as in Kubernetes (15s there): it does not react to
     * every Deployment change, so `helm upgrade` can remove an HPA before it scales the new spec.
     */
    private readonly hpaSyncMs = 1000,
  ) {
    this.deployments = new DeploymentController(reg, events);
    this.replicasets = new ReplicaSetController(reg, events);
    this.scheduler = new Scheduler(reg, events);
    this.endpoints = new EndpointsController(reg);
    this.gc = new GarbageCollector(reg);
    this.hpa = new HpaController(reg, events);
    this.namespaces = new NamespaceController(reg);
  }

  start(): void {
    this.unsubscribe = this.reg.store.subscribe((e) => {
      // Events do not drive controllers; skipping them avoids a pass per recorded event.
      if (e.resource !== '/events' && e.resource !== '/secrets' && e.resource !== '/configmaps') this.kick();
    });
    this.ticker = setInterval(() => this.kick(), this.resyncMs);
    this.kick();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.ticker) clearInterval(this.ticker);
  }

  /** Runs a pass soon (coalescing bursts of changes into one). */
  kick(): void {
    if (this.pending || this.stopped) return;
    this.pending = true;
    setImmediate(() => {
      this.pending = false;
      if (!this.stopped) this.runPass();
    });
  }

  runPass(): void {
    const now = Date.now();
    this.namespaces.syncAll();
    if (now - this.lastHpaSync >= this.hpaSyncMs) {
      this.lastHpaSync = now;
      this.hpa.syncAll();
    }
    this.deployments.syncAll(now);
    this.replicasets.syncAll(now);
    this.scheduler.syncAll();
    this.endpoints.syncAll();
    this.gc.syncAll();
  }
}
