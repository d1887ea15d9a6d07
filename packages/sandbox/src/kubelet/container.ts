import { randomBytes } from 'node:crypto';
import { profileDuration, type ProfileSpec } from './profiles';
import { rfc3339 } from '../util';

export type ContainerState =
  | { waiting: { reason: string; message?: string } }
  | { running: { startedAt: string } }
  | {
      terminated: {
        exitCode: number;
        reason: string;
        startedAt?: string;
        finishedAt: string;
        containerID?: string;
        message?: string;
      };
    };

export interface ContainerHooks {
  /** Something in the status changed; write the pod status. */
  changed(): void;
  event(type: 'Normal' | 'Warning', reason: string, message: string): void;
  /** The container process started (engine-backed profiles start their engine here). */
  started(): void;
  /** The container process ended (crash, OOM, stop). */
  exited(): void;
}

export interface ContainerTiming {
  startupDelayMs: number;
  /** Initial restart / image pull back-off (Kubernetes: 10 s, doubling to 5 min). */
  backoffMs: number;
  maxBackoffMs: number;
}

/** Fake container ids and image digests, stable per container instance. */
const hex = (n: number): string => randomBytes(n).toString('hex');

/** A stable fraction in [0, 1) from the pod's name: the same pod always gets the same share of `spread`. */
function spreadFraction(podRef: string): number {
  let h = 2166136261;
  for (const c of podRef) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return (h % 1000) / 1000;
}

/**
 * One container's lifecycle as the kubelet would report it, driven by its image profile:
 * pulling, running, crashing with back-off, OOM kills, failing pulls. Readiness is decided
 * by the kubelet's prober, not here.
 */
export class ContainerSim {
  state: ContainerState = { waiting: { reason: 'ContainerCreating' } };
  lastState: ContainerState | undefined;
  restartCount = 0;
  ready = false;
  started = false;
  containerID: string | undefined;
  readonly imageID: string;
  /** Synthetic log lines of the current and previous instance, for profiles without an engine. */
  logs: { time: number; line: string }[] = [];
  previousLogs: { time: number; line: string }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = false;

  constructor(
    readonly name: string,
    readonly image: string,
    readonly podRef: string,
    public profile: ProfileSpec,
    private readonly timing: ContainerTiming,
    private readonly hooks: ContainerHooks,
  ) {
    this.imageID = `docker.io/library/${image.split(':')[0]}@sha256:${hex(32)}`;
  }

  /** Whether this container is backed by an engine double while running. */
  get engineBacked(): boolean {
    return this.profile.name === 'healthy' || this.profile.name === 'degrade';
  }

  get running(): boolean {
    return 'running' in this.state;
  }

  /** Never started yet (the pod stays Pending while any container is in this state). */
  get initialWaiting(): boolean {
    return 'waiting' in this.state && this.lastState === undefined && this.restartCount === 0;
  }

  begin(): void {
    this.hooks.event('Normal', 'Pulling', `Pulling image "${this.image}"`);
    const start = profileDuration(this.profile, 'start', this.timing.startupDelayMs);
    // `spread`: pods of one image start at different moments, as on a real cluster (0..spread, per pod)
    const spread = profileDuration(this.profile, 'spread', 0) * spreadFraction(this.podRef);
    this.after(start + spread, () => this.pull());
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.running) {
      this.hooks.event('Normal', 'Killing', `Stopping container ${this.name}`);
      this.hooks.exited();
    }
  }

  private after(ms: number, fn: () => void): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.stopped) fn();
    }, ms);
  }

  private backoff(): number {
    const base = profileDuration(this.profile, 'backoff', this.timing.backoffMs);
    const max = profileDuration(this.profile, 'max-backoff', this.timing.maxBackoffMs);
    return Math.min(max, base * 2 ** Math.max(0, this.failures - 1));
  }

  private pull(): void {
    if (this.profile.name === 'missing') {
      this.failures++;
      const msg = `failed to pull and unpack image "docker.io/library/${this.image}": failed to resolve reference "docker.io/library/${this.image}": docker.io/library/${this.image}: not found`;
      this.hooks.event(
        'Warning',
        'Failed',
        `Failed to pull image "${this.image}": rpc error: code = NotFound desc = ${msg}`,
      );
      this.hooks.event('Warning', 'Failed', 'Error: ErrImagePull');
      this.state = { waiting: { reason: 'ErrImagePull', message: `rpc error: code = NotFound desc = ${msg}` } };
      this.hooks.changed();
      // ErrImagePull shows briefly, then the kubelet backs off: ImagePullBackOff until the next attempt.
      const wait = this.backoff();
      this.after(Math.min(wait / 2, 500), () => {
        this.hooks.event('Normal', 'BackOff', `Back-off pulling image "${this.image}"`);
        this.hooks.event('Warning', 'Failed', 'Error: ImagePullBackOff');
        this.state = { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${this.image}"` } };
        this.hooks.changed();
        this.after(wait, () => {
          this.hooks.event('Normal', 'Pulling', `Pulling image "${this.image}"`);
          this.pull();
        });
      });
      return;
    }
    if (this.restartCount === 0)
      this.hooks.event(
        'Normal',
        'Pulled',
        `Successfully pulled image "${this.image}" in ${this.timing.startupDelayMs}ms (${this.timing.startupDelayMs}ms including waiting). Image size: 0 bytes.`,
      );
    else this.hooks.event('Normal', 'Pulled', `Container image "${this.image}" already present on machine`);
    this.run();
  }

  private run(): void {
    this.containerID = `sandbox://${hex(32)}`;
    const startedAt = rfc3339();
    this.state = { running: { startedAt } };
    this.started = true;
    this.ready = false;
    this.log(`starting ${this.name} (image ${this.image}, profile ${this.profile.name})`);
    this.hooks.event('Normal', 'Created', `Created container: ${this.name}`);
    this.hooks.event('Normal', 'Started', `Started container ${this.name}`);
    this.hooks.started();
    this.hooks.changed();
    if (this.profile.name === 'crashloop') {
      this.after(profileDuration(this.profile, 'run', 300), () => {
        this.log('fatal: unrecoverable error, exiting');
        this.crash(Number(this.profile.params.exit ?? 1), 'Error', startedAt);
      });
    } else if (this.profile.name === 'oom') {
      this.after(profileDuration(this.profile, 'after', 500), () => {
        this.log('allocating order book buffers...');
        this.crash(137, 'OOMKilled', startedAt);
      });
    }
  }

  private crash(exitCode: number, reason: string, startedAt: string): void {
    this.failures++;
    this.ready = false;
    const terminated: ContainerState = {
      terminated: {
        exitCode,
        reason,
        startedAt,
        finishedAt: rfc3339(),
        ...(this.containerID ? { containerID: this.containerID } : {}),
      },
    };
    this.state = terminated;
    this.hooks.exited();
    this.hooks.changed();
    const wait = this.backoff();
    // The terminated state is visible for a moment, then the kubelet reports the back-off.
    this.after(Math.min(50, wait), () => {
      this.lastState = terminated;
      this.restartCount++;
      // From here the crashed instance is the "previous" one, as `kubectl logs --previous` shows it
      // during the back-off; the next start begins with empty logs.
      this.previousLogs = this.logs;
      this.logs = [];
      this.state = {
        waiting: {
          reason: 'CrashLoopBackOff',
          message: `back-off ${formatBackoff(wait)} restarting failed container=${this.name} pod=${this.podRef}`,
        },
      };
      this.hooks.event('Warning', 'BackOff', `Back-off restarting failed container ${this.name} in pod ${this.podRef}`);
      this.hooks.changed();
      this.after(wait, () => this.pull());
    });
  }

  log(message: string): void {
    const time = Date.now();
    this.logs.push({ time, line: `${new Date(time).toISOString()} INFO  [${this.name}] ${message}` });
    if (this.logs.length > 1000) this.logs.splice(0, this.logs.length - 1000);
  }

  /** The containerStatuses entry. */
  status(): Record<string, unknown> {
    return {
      name: this.name,
      state: this.state,
      ...(this.lastState ? { lastState: this.lastState } : { lastState: {} }),
      ready: this.ready,
      restartCount: this.restartCount,
      image: this.image,
      imageID: this.started ? this.imageID : '',
      ...(this.containerID ? { containerID: this.containerID } : {}),
      started: this.running,
    };
  }
}

function formatBackoff(ms: number): string {
  if (ms >= 60_000) return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
  if (ms >= 1000) return `${Math.round(ms / 100) / 10}s`;
  return `${ms}ms`;
}
