import type { RevisionInfo } from './plan';

/** "revision 4 (v1.2.0)": how the report, outputs and messages name a revision. */
export function describeRevision(info: RevisionInfo): string {
  return `revision ${info.revision} (${versionOf(info.image)})`;
}

/** "veloz/engine:1.1.0" -> "v1.1.0" for notifications and the log line. */
export function versionOf(image: string): string {
  const last = image.slice(image.lastIndexOf('/') + 1);
  const tag = last.includes(':') ? last.slice(last.indexOf(':') + 1) : image;
  return /^\d/.test(tag) ? `v${tag}` : tag;
}
