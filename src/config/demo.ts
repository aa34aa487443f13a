/**
 * The embedded demo configuration used by `npm start` with no arguments. Scripts and the
 * documentation rely on every value here (issue 4): keep it exactly as it is. This string is
 * the one source of truth; `witnessd --print-demo-config` (or reading this file) shows it.
 */
export const DEMO_CONFIG_NAME = '<embedded demo config>';

export const DEMO_CONFIG_YAML = `# witnessd embedded demo: one SFO pair, one SVM, one data LIF per node, one CA share.
nodes:
  - name: node1
    partner: node2
    smbAddress: 127.0.0.11:445
  - name: node2
    partner: node1
    smbAddress: 127.0.0.12:445

svms:
  - name: vs1
    netbiosName: SOFS
    dnsName: sofs.demo.local
    aliases: []
    lifs:
      - name: lif1
        ipv4: 127.0.0.11
        homeNode: node1
        currentNode: node1
        up: true
      - name: lif2
        ipv4: 127.0.0.12
        homeNode: node2
        currentNode: node2
        up: true
    shares:
      - name: vmstore
        continuouslyAvailable: true
        node: node1

listener:
  # The witness endpoint and the endpoint mapper listen on both LIF addresses.
  addresses: [127.0.0.11, 127.0.0.12]
  witnessPort: 0        # 0 = a dynamic port, published through the endpoint mapper
  epmPort: 135

timeouts:
  unusedRegistrationSeconds: 30

watcher:
  mode: simulated       # nodes stay up until the operator (or the drill) fails them
  intervalMs: 500
  timeoutMs: 400
  failureThreshold: 3
  recoveryThreshold: 2

admin:
  address: 127.0.0.1:8135

auth:
  minimumLevel: integrity
  allowAnonymous: true  # a first run needs no accounts
  accounts:
    - domain: DEMO
      user: demo
      password: demo-password

limits:
  maxRegistrationsPerClient: 64
  maxPendingCallsPerConnection: 64

logging:
  level: info

clusapi:
  enabled: true
  # Lets smbtorture's anonymous rpc.witness AsyncNotify toggle the SOFS resource. An
  # unauthenticated client can then take the SVM's LIFs down: never in production.
  allowAnonymous: true
`;
