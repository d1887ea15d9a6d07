import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { logLineTime } from '../notifications';
import { redact, singleLine } from '../secrets';

/**
 * Appends the runbook's deployments.log line (§2.2 step 5, §4.5 step 4): one line, redacted, so free
 * text with a newline cannot forge a record.
 */
export async function appendDeploymentLog(path: string, time: Date, text: string): Promise<string> {
  const line = `${logLineTime(time)} - ${singleLine(redact(text))}`;
  await mkdir(dirname(path), { recursive: true });
  await appendFile(path, `${line}\n`);
  return line;
}
