/** Prometheus scrape targets for running engines, labelled the way Kubernetes service discovery would. */

export interface ScrapeSource {
  namespace: string;
  podName: string;
  port: number;
  /** The pod's Kubernetes labels, e.g. `app.kubernetes.io/name: veloz`, `track: canary`. */
  podLabels?: Record<string, string>;
}

export interface ScrapeTarget {
  /** `host:port`, as Prometheus' static and file service discovery want it. */
  address: string;
  /** The full metrics URL, for people and curl. */
  url: string;
  metricsPath: '/metrics';
  /** `namespace`, `pod`, then the pod's labels with names made valid for Prometheus (`app_kubernetes_io_name`). */
  labels: Record<string, string>;
}

/** Prometheus label names are `[a-zA-Z_][a-zA-Z0-9_]*`; Kubernetes SD maps the rest to `_` the same way. */
export function promLabelName(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

export function scrapeTargets(sources: Iterable<ScrapeSource>): ScrapeTarget[] {
  const out: ScrapeTarget[] = [];
  for (const s of sources) {
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(s.podLabels ?? {})) labels[promLabelName(k)] = v;
    // Set last so a pod label cannot overwrite where the series came from.
    labels.namespace = s.namespace;
    labels.pod = s.podName;
    const address = `127.0.0.1:${s.port}`;
    out.push({ address, url: `http://${address}/metrics`, metricsPath: '/metrics', labels });
  }
  return out;
}

/** The targets as a Prometheus `file_sd_configs` document (JSON), one group per pod. */
export function fileSdDocument(targets: readonly ScrapeTarget[]): string {
  return JSON.stringify(
    targets.map((t) => ({ targets: [t.address], labels: t.labels })),
    null,
    2,
  );
}
