/** One engine double: its state, the work it does on the shared tick, and its lifecycle. */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Behaviour } from './behaviour';
import { formatDegrade, type DegradeSpec } from './degrade';
import { EvenHits, LatencySampler } from './latency';
import { EngineLog, type LogEntry, type LogQuery } from './logs';
import { EngineMetrics } from './metrics';
import { OrderBook } from './orders';
import { createEngineServer } from './server';
import { MarketStreams } from './streams';
import { joinTicker, leaveTicker, type Tickable } from './ticker';
import { SyntheticTraffic } from './traffic';

export interface EngineConfig {
  namespace: string;
  podName: string;
  image: string;
  testToken: string;
  behaviour?: DegradeSpec;
  syntheticRequestsPerSecond: number;
  startupMs: number;
}

const MiB = 1024 ** 2;
const BASE_RESIDENT_BYTES = 180 * MiB;
const IDLE_CPU_PER_SECOND = 0.02;
const CPU_PER_REQUEST = 0.0003;
const STATS_INTERVAL_MS = 10_000;

const ERROR_LINES: readonly [string, string][] = [
  ['order-router', 'order submission to exchange timed out after 5000ms (symbol=BTCUSDT)'],
  ['db', 'query failed: canceling statement due to statement timeout (orders_state refresh)'],
  ['redis', "READONLY You can't write against a read only replica (key=veloz:positions)"],
  ['market', 'feed gap detected: sequence jumped by 9, resubscribing BTCUSDT'],
  ['risk', 'position check failed: balance snapshot is 12s stale'],
];

/** Tag of `registry/name:tag[@digest]`, the engine's version label. */
export function versionOf(image: string): string {
  const withoutDigest = image.split('@')[0] ?? image;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > lastSlash ? withoutDigest.slice(colon + 1) : 'latest';
}

export class Engine implements Tickable {
  readonly startedAt = Date.now();
  readonly version: string;
  readonly behaviour: Behaviour;
  readonly metrics = new EngineMetrics();
  readonly log = new EngineLog();
  readonly orders = new OrderBook();
  /** Per-engine phase so pods of one deployment do not quote identical prices. */
  readonly marketPhase = Math.random() * 1000;
  readonly streams = new MarketStreams(this.marketPhase);
  /** Real requests draw from their own sequences so synthetic traffic cannot starve them of tail draws. */
  readonly realLatency = new LatencySampler();
  readonly realErrors = new EvenHits();
  readonly server: Server;
  port = 0;

  private readonly traffic: SyntheticTraffic;
  private readonly pendingTimers = new Set<NodeJS.Timeout>();
  private memoryExtra = 0;
  private memoryIntegratedTo: number;
  private logErrorsDue = 0;
  private logErrorsAt: number;
  private errorLineIndex = 0;
  private lastStats: number;
  private announcedActive = false;
  private announcedStarted: boolean;
  private inFlight = 0;
  private stopped = false;

  constructor(readonly config: EngineConfig) {
    const now = this.startedAt;
    this.version = versionOf(config.image);
    this.streams.identify(config.podName, this.version);
    this.behaviour = new Behaviour(config.behaviour, now);
    this.traffic = new SyntheticTraffic(config.syntheticRequestsPerSecond, now);
    this.memoryIntegratedTo = now;
    this.logErrorsAt = now;
    this.lastStats = now;
    this.announcedStarted = config.startupMs <= 0;
    this.server = createEngineServer(this);
  }

  async listen(): Promise<void> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
    this.writeStartupLog();
    joinTicker(this);
  }

  /** True until `startupMs` has passed: startup and readiness probes answer 503 meanwhile. */
  starting(now: number): boolean {
    return now - this.startedAt < this.config.startupMs;
  }

  setBehaviour(spec: DegradeSpec | undefined): void {
    // Re-applying the profile a pod already has must not restart its `after=` clock (a sandbox re-applies
    // profiles to every pod when any one changes).
    const current = this.behaviour.profile;
    if ((current && spec && formatDegrade(current) === formatDegrade(spec)) || (!current && !spec)) return;
    const now = Date.now();
    this.integrateMemory(now);
    this.behaviour.set(spec, now);
    this.announcedActive = false;
    this.logErrorsAt = now;
    this.logErrorsDue = 0;
    if (!spec) this.log.write('INFO', 'sandbox', 'profile set to healthy', now);
    else if (spec.afterMs > 0) this.log.write('INFO', 'sandbox', `degrade profile set: ${formatDegrade(spec)}`, now);
  }

  tick(now: number): void {
    if (this.stopped) return;
    const faults = this.behaviour.active(now);
    if (faults && !this.announcedActive) {
      this.announcedActive = true;
      // Worded so the validate logs check (default pattern `error`) counts the engine's lines, not ours.
      this.log.write(
        'WARN',
        'sandbox',
        `degrade profile active: ${formatDegrade(faults).replace('error-rate=', 'failing ')}`,
        now,
      );
    }
    if (!this.announcedStarted && !this.starting(now)) {
      this.announcedStarted = true;
      this.log.write('INFO', 'main', `startup complete in ${this.config.startupMs}ms, accepting traffic`, now);
    }
    this.traffic.run(now, this.behaviour, this.metrics);
    this.streams.broadcast(now, faults?.sse === 'silent');
    this.integrateMemory(now);
    this.writeErrorLines(now);
    if (now - this.lastStats >= STATS_INTERVAL_MS) {
      this.lastStats = now;
      const { count } = this.orders.state();
      this.log.write(
        'INFO',
        'stats',
        `orders=${count} requests=${this.metrics.total} connections=${this.streams.connections} ` +
          `rss=${Math.round(this.residentBytes(now) / MiB)}MiB`,
        now,
      );
    }
  }

  residentBytes(now: number): number {
    this.integrateMemory(now);
    // A slow wave so the gauge looks alive; far smaller than any profile's growth.
    return BASE_RESIDENT_BYTES + 2 * MiB * Math.sin((now - this.startedAt) / 60_000) + this.memoryExtra;
  }

  cpuSeconds(now: number): number {
    return ((now - this.startedAt) / 1000) * IDLE_CPU_PER_SECOND + this.metrics.total * CPU_PER_REQUEST;
  }

  get activeConnections(): number {
    return this.streams.connections + this.inFlight;
  }

  trackInFlight(delta: 1 | -1): void {
    this.inFlight += delta;
  }

  renderMetrics(now: number): string {
    return this.metrics.render({
      cpuSeconds: this.cpuSeconds(now),
      residentBytes: this.residentBytes(now),
      startTimeSeconds: this.startedAt / 1000,
      activeConnections: this.activeConnections,
      version: this.version,
    });
  }

  /** A timer that `stop()` cancels (delayed responses must not outlive the engine). */
  later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.pendingTimers.delete(t);
      fn();
    }, ms);
    this.pendingTimers.add(t);
  }

  logs(q?: LogQuery): LogEntry[] {
    return this.log.read(q);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    leaveTicker(this);
    for (const t of this.pendingTimers) clearTimeout(t);
    this.pendingTimers.clear();
    this.streams.close();
    this.log.close();
    const closed = this.server.listening ? once(this.server, 'close') : Promise.resolve();
    this.server.close();
    this.server.closeAllConnections();
    await closed;
  }

  private integrateMemory(now: number): void {
    const rate = this.behaviour.profile?.memoryBytesPerSecond;
    const from = Math.max(this.memoryIntegratedTo, this.behaviour.activeFrom ?? Infinity);
    if (rate && now > from) this.memoryExtra += (rate * (now - from)) / 1000;
    this.memoryIntegratedTo = Math.max(this.memoryIntegratedTo, now);
  }

  private writeErrorLines(now: number): void {
    const rate = this.behaviour.active(now)?.logErrorsPerSecond;
    const from = Math.max(this.logErrorsAt, this.behaviour.activeFrom ?? Infinity);
    this.logErrorsAt = Math.max(this.logErrorsAt, now);
    if (!rate || now <= from) return;
    this.logErrorsDue += (rate * (now - from)) / 1000;
    for (; this.logErrorsDue >= 1; this.logErrorsDue -= 1) {
      const [component, message] = ERROR_LINES[this.errorLineIndex++ % ERROR_LINES.length] as [string, string];
      this.log.write('ERROR', component, message, now);
    }
  }

  private writeStartupLog(): void {
    const { namespace, podName } = this.config;
    const lines: [string, string][] = [
      ['main', `VeloZ engine ${this.version} starting (pod ${namespace}/${podName}, pid 1)`],
      ['config', 'loaded /etc/veloz/config.yaml (profile=production, risk.max_order_notional=250000)'],
      ['db', 'connected to postgresql primary veloz-postgresql:5432 (pool size 20)'],
      ['redis', 'sentinel master veloz-master at veloz-redis:6379, 2 replicas'],
      ['market', 'market data feed connected: BTCUSDT ETHUSDT SOLUSDT'],
      ['http', 'listening on 0.0.0.0:8080 (REST, SSE /api/stream, WebSocket /ws/market)'],
    ];
    for (const [component, message] of lines) this.log.write('INFO', component, message, this.startedAt);
    if (this.announcedStarted) this.log.write('INFO', 'main', 'startup complete, accepting traffic', this.startedAt);
  }
}
