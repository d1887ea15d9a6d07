/**
 * One deploy on the terminal: deploy.yml's job chain on a cluster, each job's report printed as it
 * ends, the live progress line in between (stories and waves both show deploys this way).
 */
import type { DemoCluster } from './cluster';
import { runDeploy, type DeployInputs, type JobRun } from './pipeline';
import { Progress, type Terminal } from './progress';
import { renderJob, type Style } from './render';

/** Where a deploy is shown: the terminal, its style, whether it is live, and a line printer. */
export interface Screen {
  out: Terminal;
  s: Style;
  tty: boolean;
  print: (line?: string) => void;
}

/** deploy.yml's job chain on one cluster, each job's report printed as it ends. */
export function showDeploy(d: DeployInputs, cluster: DemoCluster, { out, s, tty, print }: Screen): Promise<JobRun[]> {
  const progress = new Progress(out, tty, s);
  return runDeploy(d, {
    env: cluster.env,
    onApproval: (environment) =>
      print(
        `${s.yellow('⏸')} promote waits for the reviewers of environment "${environment}" ${s.dim('(approved at once in the demo)')}`,
      ),
    onJobStart: (job) => progress.start(job),
    onLine: (_job, line) => progress.update(line),
    onJobEnd: (job) => {
      progress.stop();
      for (const line of renderJob(job, s)) print(line);
      // Runbook §2.1's diagram, live: blue serving beside green once the canary is up.
      if (job.job === 'canary' && job.result === 'success') {
        print(s.dim('  pods after the canary (app.kubernetes.io/name=veloz, veloz.io/track=green):'));
        for (const line of cluster.podLines()) print(`    ${line}`);
      }
    },
  });
}
