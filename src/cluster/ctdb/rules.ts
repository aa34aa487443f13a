/**
 * The deployment rules a CTDB cluster is held to. Not the SFO-pair rules (findings.ts): any
 * CTDB node may host any public IP it lists, so a node has no partner and a LIF no fixed
 * home; what matters is that public IPs exist, are hosted, and that shares are continuously
 * available.
 */
import type { FindingInput } from '../findings';
import type { DeploymentFinding } from '../types';

export function ctdbFindings(m: FindingInput): DeploymentFinding[] {
  const out: DeploymentFinding[] = [];
  if (m.lifs.length === 0) out.push({ severity: 'warning', message: 'CTDB lists no public IP: clients have no address to register for (public_addresses on each node)' });
  for (const l of m.lifs) {
    if (!l.up) out.push({ severity: 'warning', svm: l.svm, lif: l.name, message: `public IP ${l.name} is hosted by no node: its clients cannot reach it` });
  }
  for (const sh of m.shares) {
    if (!sh.continuouslyAvailable) {
      out.push({
        severity: 'warning', svm: sh.svm,
        message: `share ${sh.name} is not continuously available: clients get no persistent handles and witness-assisted failover does not apply`,
      });
    }
  }
  return out;
}
