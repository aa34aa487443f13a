/**
 * The deployment rules of DOMAIN.md ("Witness-assisted failover needs all of these"),
 * checked against the current model state. Each finding names the SVM, node or LIF.
 */
import type { DeploymentFinding, LifView, NodeView, ShareView, SvmView } from './types';

export interface FindingInput {
  readonly nodes: readonly NodeView[];
  readonly svms: readonly SvmView[];
  readonly lifs: readonly LifView[];
  readonly shares: readonly ShareView[];
  /** True when the watcher probes SMB servers (so a node needs an smbAddress). */
  readonly probing: boolean;
}

export function deploymentFindings(m: FindingInput): DeploymentFinding[] {
  const out: DeploymentFinding[] = [];
  const nodes = new Map(m.nodes.map((n) => [n.name, n]));

  for (const n of m.nodes) {
    if (n.partner === undefined) {
      out.push({ severity: 'warning', node: n.name, message: `node ${n.name} has no SFO partner: no node can witness for it, and its LIFs cannot fail over` });
    } else if (n.partner === n.name) {
      out.push({ severity: 'error', node: n.name, message: `node ${n.name} names itself as its SFO partner` });
    } else {
      const p = nodes.get(n.partner);
      if (!p) {
        out.push({ severity: 'error', node: n.name, message: `node ${n.name} names SFO partner ${n.partner}, which does not exist` });
      } else if (p.partner !== n.name) {
        out.push({
          severity: 'warning',
          node: n.name,
          message: `node ${n.name} names ${p.name} as SFO partner, but ${p.name} names ${p.partner ?? 'no partner'}: an SFO pair is mutual`,
        });
      }
    }
    if (m.probing && n.smbAddress === undefined) {
      out.push({ severity: 'warning', node: n.name, message: `node ${n.name} has no smbAddress: the health watcher cannot probe it` });
    }
  }

  for (const l of m.lifs) {
    if (!nodes.has(l.homeNode)) {
      out.push({ severity: 'error', svm: l.svm, lif: l.name, message: `LIF ${l.name} of SVM ${l.svm} has home node ${l.homeNode}, which does not exist` });
    }
    if (l.currentNode !== l.homeNode && !nodes.has(l.currentNode)) {
      out.push({ severity: 'error', svm: l.svm, lif: l.name, message: `LIF ${l.name} of SVM ${l.svm} is on node ${l.currentNode}, which does not exist` });
    }
  }

  for (const s of m.svms) {
    const lifs = m.lifs.filter((l) => l.svm === s.name);
    if (lifs.length === 0) {
      out.push({ severity: 'error', svm: s.name, message: `SVM ${s.name} has no data LIF: clients cannot reach it and no witness can serve it` });
      continue;
    }
    // A node acts as the witness for its SFO partner only through an operational data LIF
    // of the SVM on itself; any up node may have to (LIFs can migrate anywhere).
    for (const n of m.nodes) {
      if (!n.up) continue;
      if (lifs.some((l) => l.operational && l.currentNode === n.name)) continue;
      const whom = n.partner !== undefined && nodes.has(n.partner) ? `, so it cannot witness for its SFO partner ${n.partner}` : '';
      out.push({
        severity: 'warning',
        svm: s.name,
        node: n.name,
        message: `SVM ${s.name} has no operational data LIF on node ${n.name}${whom}`,
      });
    }
  }

  for (const sh of m.shares) {
    if (!nodes.has(sh.node)) {
      out.push({ severity: 'error', svm: sh.svm, message: `share ${sh.name} of SVM ${sh.svm} is served by node ${sh.node}, which does not exist` });
    }
    if (!sh.continuouslyAvailable) {
      out.push({
        severity: 'warning',
        svm: sh.svm,
        message: `share ${sh.name} of SVM ${sh.svm} is not continuously available: clients get no persistent handles and witness-assisted failover does not apply`,
      });
    }
  }
  return out;
}
