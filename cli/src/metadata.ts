/** What the CLI knows of each action's inputs: read from its action.yml, the one place they are declared. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';

export interface InputSpec {
  description: string;
  required?: boolean;
  default?: string;
}

export type ActionInputs = Record<string, InputSpec>;

/** `<root>/<action>/action.yml` inputs, so a flag's default is the action's default. */
export async function loadInputs(root: string, action: string): Promise<ActionInputs> {
  const metadata = parse(await readFile(join(root, action, 'action.yml'), 'utf8')) as { inputs?: ActionInputs };
  return metadata.inputs ?? {};
}

/** The first sentence of a description, for `--help`. */
export function firstSentence(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const end = flat.search(/\.(\s|$)/);
  return end === -1 ? flat : flat.slice(0, end + 1);
}
