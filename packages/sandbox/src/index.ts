/**
 * @veloz/sandbox — a local Kubernetes API server with real controllers, for tests and the demo.
 *
 *   const sb = await startSandbox({ podStartupDelayMs: 150, profiles: ['veloz:bad=crashloop'] });
 *   // sb.kubeconfig / sb.writeKubeconfig(path) for kubectl, helm and @kubernetes/client-node
 *   const dep = sb.get('deployments', 'veloz', 'veloz-engine');
 *   await sb.stop();
 */
export { startSandbox, type Sandbox, type SandboxOptions, type SandboxObjects } from './sandbox';
export { toolPath, TOOL_NAMES, type ToolName } from './tools';
export {
  parseProfileAssignment,
  parseProfileSpec,
  formatProfile,
  PROFILE_NAMES,
  type ProfileName,
  type ProfileSpec,
} from './kubelet/profiles';
export type { FaultRule, FaultAction } from './api/faults';
export type { JournalEntry, JournalFilter } from './api/journal';
export type { PolicyRule } from './api/auth';
export type { KubeObject } from './util';
