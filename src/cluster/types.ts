/**
 * The cluster model as the rest of witnessd sees it (DOMAIN.md): nodes in SFO pairs, SVMs
 * with data LIFs and shares. Read-only views plus events; src/cluster/ owns the state.
 * The Witness service subscribes to events and never probes anything itself.
 */

export interface NodeView {
  readonly name: string;
  /** SFO (HA) partner node name; undefined when the node has none (a deployment warning). */
  readonly partner: string | undefined;
  /** host[:port] of the node's SMB server, probed by the health watcher. */
  readonly smbAddress: string | undefined;
  /** False after an unplanned failure or while it is taken over. */
  readonly up: boolean;
  /** True while its storage and LIFs are taken over by the partner (planned or not). */
  readonly takenOver: boolean;
}

export interface LifView {
  readonly name: string;
  readonly svm: string;
  /** Dotted quad, or undefined. */
  readonly ipv4: string | undefined;
  /** Canonical text form (as Node's net module prints it), or undefined. */
  readonly ipv6: string | undefined;
  readonly homeNode: string;
  readonly currentNode: string;
  /** Administrative/operational state of the LIF itself. */
  readonly up: boolean;
  /** up && its current node is up: the state the interface list reports as AVAILABLE. */
  readonly operational: boolean;
}

export interface ShareView {
  readonly name: string;
  readonly svm: string;
  readonly continuouslyAvailable: boolean;
  /** Node currently serving the share's volume. */
  readonly node: string;
}

export interface SvmView {
  readonly name: string;
  /** CIFS server NetBIOS name (e.g. SOFS). */
  readonly netbiosName: string;
  /** CIFS server DNS name (e.g. sofs.demo.local). */
  readonly dnsName: string;
  readonly aliases: readonly string[];
  readonly lifs: readonly string[];
  readonly shares: readonly string[];
}

/** A deployment-rule finding (DOMAIN.md), shown at start and by `witnessctl status`. */
export interface DeploymentFinding {
  readonly severity: 'warning' | 'error';
  readonly message: string;
  readonly svm?: string;
  readonly node?: string;
  readonly lif?: string;
}

/**
 * Every change to the model is an event. Events are self-describing: they name the LIFs
 * and shares they affect, so subscribers never need the state from before the change.
 * `planned` distinguishes operator-driven moves (CLIENT_MOVE goes out *before* them) from
 * failures.
 */
export type ClusterEvent =
  /** A node failed (unplanned takeover): `lifs` were on it and have failed over to `partner`. */
  | { readonly type: 'NodeDown'; readonly node: string; readonly partner?: string; readonly lifs: readonly string[] }
  /** A node came back; `lifs` are the LIFs now operational on it again (after giveback). */
  | { readonly type: 'NodeUp'; readonly node: string; readonly lifs: readonly string[] }
  /** A LIF went down / came up without moving (admin, clusapi offline/online). */
  | { readonly type: 'LifDown'; readonly lif: string; readonly svm: string }
  | { readonly type: 'LifUp'; readonly lif: string; readonly svm: string }
  /** A planned move is about to happen (takeover, giveback, migration, upgrade): raised before LifMoved. */
  | { readonly type: 'LifMoving'; readonly lif: string; readonly svm: string; readonly from: string; readonly to: string }
  | { readonly type: 'LifMoved'; readonly lif: string; readonly svm: string; readonly from: string; readonly to: string; readonly planned: boolean }
  | {
      readonly type: 'LifAddressChanged';
      readonly lif: string;
      readonly svm: string;
      readonly old: { readonly ipv4?: string; readonly ipv6?: string };
      readonly now: { readonly ipv4?: string; readonly ipv6?: string };
    }
  /** Volume move / aggregate relocation changed the node serving a share. */
  | { readonly type: 'ShareMoved'; readonly share: string; readonly svm: string; readonly from: string; readonly to: string }
  /** Operator asked specific witness clients to move to a node (`witnessctl client move`). */
  | { readonly type: 'ClientMoveRequested'; readonly client: string; readonly to: string };

export type ClusterEventType = ClusterEvent['type'];

export interface ClusterModelView {
  nodes(): readonly NodeView[];
  node(name: string): NodeView | undefined;
  svms(): readonly SvmView[];
  svm(name: string): SvmView | undefined;
  lifs(): readonly LifView[];
  lif(name: string): LifView | undefined;
  /** The LIF owning this address (IPv4 or IPv6 text, compared as addresses, not strings). */
  lifByAddress(address: string): LifView | undefined;
  shares(svm?: string): readonly ShareView[];
  share(svm: string, name: string): ShareView | undefined;
  findings(): readonly DeploymentFinding[];
  /** Subscribe to events, delivered synchronously in order. Returns an unsubscribe function. */
  subscribe(listener: (event: ClusterEvent) => void): () => void;
}
