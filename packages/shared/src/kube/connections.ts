/**
 * client-node 1.4 gives every request a new https.Agent (KubeConfig.applySecurityAuthentication), so
 * each API call opens a connection of its own: a TLS handshake and two more round trips per call,
 * before the request is even sent. Calls here share one keep-alive agent per TLS identity instead (the
 * CA, client certificate and key: they change only when an exec plugin hands out a new certificate).
 * Proxy agents stay as client-node makes them.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions } from 'node:https';
import type * as k8s from '@kubernetes/client-node';

type RequestContext = Parameters<k8s.SecurityAuthentication['applySecurityAuthentication']>[0];

export function reusingConnections(config: k8s.KubeConfig): k8s.SecurityAuthentication {
  const agents = new Map<string, HttpAgent>();
  return {
    getName: () => config.getName(),
    async applySecurityAuthentication(context: RequestContext) {
      await config.applySecurityAuthentication(context);
      const fresh = context.getAgent() as HttpAgent | undefined;
      const Kind =
        fresh?.constructor === HttpsAgent ? HttpsAgent : fresh?.constructor === HttpAgent ? HttpAgent : undefined;
      if (!fresh || !Kind) return;
      const o = (fresh as unknown as { options: AgentOptions }).options;
      // The identity only: the key stays in this process's memory, as it already is in the kubeconfig.
      const identity = JSON.stringify([
        Kind.name,
        o.ca,
        o.cert,
        o.key,
        o.pfx,
        o.passphrase,
        o.rejectUnauthorized,
        o.servername,
      ]);
      let agent = agents.get(identity);
      if (!agent) {
        agent = new Kind({ ...o, keepAlive: true });
        agents.set(identity, agent);
      }
      context.setAgent(agent);
    },
  };
}
