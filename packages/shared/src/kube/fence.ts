/**
 * The fence between a run and the cluster: once the run can no longer prove it holds the release
 * lock (its lease expired unrenewed, or another run took it over), every further write is refused,
 * a running helm is interrupted through `signal`, and the run stops with the holder's name.
 * A run that holds no lock (preflight, validate) has an open fence that never closes.
 */
import { StepFailure } from '../pipeline';

/** Who holds the lock now and since when, as the losing run learnt it. */
export interface LockLoss {
  holder: string;
  /** When the loss happened (the takeover was seen, or the lease expired unrenewed), clock ms. */
  at: number;
  lease: string;
  namespace: string;
}

export class LockLostError extends StepFailure {
  /** No retry brings the lock back. */
  readonly retryable = false;
  constructor(
    readonly loss: LockLoss,
    readonly nextStep: string,
  ) {
    super(`lost the release lock to ${loss.holder} at ${new Date(loss.at).toISOString()}: stopped before ${nextStep}`, [
      `\`kubectl get lease ${loss.lease} -n ${loss.namespace} -o yaml\` shows who holds the release now`,
      `Let that run finish, then check the release (\`helm history\`, \`kubectl rollout status\`) before deploying again`,
    ]);
    this.name = 'LockLostError';
  }
}

export class Fence {
  private readonly lostController = new AbortController();
  private loss?: LockLoss;
  /** Installed by the lock: reports a loss the holder can prove from the time alone (lease expired). */
  private probe?: () => LockLoss | undefined;

  /** Aborts once the lock is lost: interrupts helm and stops the rollout tracker. */
  get signal(): AbortSignal {
    return this.lostController.signal;
  }

  get lost(): LockLoss | undefined {
    if (!this.loss) {
      const found = this.probe?.();
      if (found) this.markLost(found);
    }
    return this.loss;
  }

  /** Called by the lock that guards this fence. */
  guard(probe: () => LockLoss | undefined): void {
    this.probe = probe;
  }

  /** The first loss wins: a later one (the lease also expiring) does not rename the holder. */
  markLost(loss: LockLoss): void {
    if (this.loss) return;
    this.loss = loss;
    this.lostController.abort(new LockLostError(loss, 'the next step'));
  }

  private inFlight = 0;
  private started = 0;
  private idleWaiters: (() => void)[] = [];

  /** How many writes or changes (helm) were started so far: what was read before the count moved may be stale. */
  get changes(): number {
    return this.started;
  }

  /** Counts a write or a change (helm) in flight, so a run that lost the lock can tell when it has stopped. */
  track<T>(work: Promise<T>): Promise<T> {
    this.inFlight++;
    this.started++;
    return work.finally(() => {
      if (--this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    });
  }

  /** True once nothing tracked is in flight; false if something still is after `limitMs`. */
  idle(limitMs: number): Promise<boolean> {
    if (this.inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== wake);
        resolve(false);
      }, limitMs);
      const wake = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.idleWaiters.push(wake);
    });
  }

  /** Throws LockLostError naming `nextStep` when the run may no longer write. */
  check(nextStep: string): void {
    const loss = this.lost;
    if (loss) throw new LockLostError(loss, nextStep);
  }
}
