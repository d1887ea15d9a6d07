import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { logLineTime } from '../notifications';

/** Appends the runbook's deployments.log line (§2.2 step 5, §4.5 step 4). */
export async function appendDeploymentLog(path: string, time: Date, text: string): Promise<string> {
  const line = `${logLineTime(time)} - ${text}`;
  await mkdir(dirname(path), { recursive: true });
  await appendFile(path, `${line}\n`);
  return line;
}
