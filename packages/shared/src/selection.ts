import { InputError, type InputReader } from './inputs';

/**
 * Resolves the `checks` input: `auto` picks every check whose configuration is present; an explicit
 * list must name known checks, each configured. Returns names in the canonical (runbook) order.
 */
export function selectChecks<Name extends string>(
  reader: InputReader,
  known: readonly Name[],
  missingConfig: (name: Name) => string | undefined,
): Name[] {
  const requested = reader.list('checks');
  const raw = requested.join(', ');
  if (requested.length === 0) throw new InputError('checks', raw, `\`auto\` or a list from ${known.join(', ')}`);
  if (requested.length === 1 && requested[0] === 'auto')
    return known.filter((name) => missingConfig(name) === undefined);
  for (const name of requested) {
    if (!(known as readonly string[]).includes(name)) {
      throw new InputError('checks', raw, `\`auto\` or names from ${known.join(', ')} (unknown check '${name}')`);
    }
    const missing = missingConfig(name as Name);
    if (missing) throw new InputError('checks', raw, `the check '${name}' to be configured: ${missing}`);
  }
  return known.filter((name) => requested.includes(name));
}
