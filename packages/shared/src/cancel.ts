/**
 * A cancelled step (GitHub sends SIGINT, then SIGTERM, then kills) or an interrupted terminal (Ctrl-C,
 * SIGTERM): interrupt helm, give the release lock back and exit 130/143, so the rollback that follows
 * does not wait out `lock-ttl` behind a dead run. The action and the CLI say it each in their own way.
 * The lock module is loaded only now: it pulls in the Kubernetes client.
 */
export function exitOnCancel(say: (signal: NodeJS.Signals, gaveLockBack: boolean) => void): void {
  const cancel = (signal: NodeJS.Signals): void => {
    void (async () => {
      const { giveBackHeldLocks } = await import('./kube/lock');
      const given = await giveBackHeldLocks();
      say(signal, given > 0);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    })();
  };
  process.once('SIGINT', cancel);
  process.once('SIGTERM', cancel);
}

/** The words for it: what was done, and what to do next. */
export function cancelledMessage(signal: NodeJS.Signals, gaveLockBack: boolean, rerun: string): string {
  return (
    `Cancelled (${signal})${gaveLockBack ? ': helm was interrupted and the release lock given back, so the next run starts at once' : ''}. ` +
    `What was in progress may be half done: run the rollback, or ${rerun}.`
  );
}
