import type { ContainerPlan, ManifestHash, PodPlan } from '../../domain/types.js';
import type { AddressRule } from '../../net/address-list.js';
import type { PortRule } from '../../net/port-list.js';
import { LABEL_HOST, LABEL_MANIFEST_HASH, POD_CAPABILITIES, WRITABLE_DIRS } from '../podman/specs.js';

/** Objects codiusd makes carry these, so they are found by label and told apart from anyone else's. */
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'codiusd';
/** The manifest's container ids, in order, as the pod's containers are named `c0`, `c1`… */
export const ANNOTATION_CONTAINER_IDS = 'codius.org/container-ids';
/** codiusd's own pods (its Deployment) carry this label: pods may reach only them, on the ILP port. */
export const CODIUSD_POD_LABELS = { 'app.kubernetes.io/name': 'codiusd' };
/** The label every namespace carries with its own name (set by the API server). */
const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

const WRITABLE_DIR_LIMIT = '128Mi';
const STOP_GRACE_SECONDS = 2;

export interface ObjectSettings {
  namespace: string;
  hostId: string;
  runtimeClass: string | null;
  /** Destinations pods must not reach (the host firewall's list), and ports refused everywhere. */
  blockedNetworks: readonly AddressRule[];
  blockedPorts: readonly PortRule[];
  /** The pods' ILP port on codiusd's pods (which run in `namespace` too), when pods have accounts. */
  ilpPort: number | null;
}

export const podObjectName = (hash: ManifestHash): string => `codius-${hash}`;
export const secretName = (hash: ManifestHash): string => `codius-${hash}-env`;

export function labelsOf(hash: ManifestHash, hostId: string): Record<string, string> {
  return { [LABEL_MANIFEST_HASH]: hash, [LABEL_HOST]: hostId, [LABEL_MANAGED_BY]: MANAGED_BY };
}

/** Everything of this host's, for list and watch calls. */
export const hostSelector = (hostId: string): string =>
  `${LABEL_HOST}=${hostId},${LABEL_MANAGED_BY}=${MANAGED_BY}`;

const metadata = (name: string, settings: ObjectSettings, hash: ManifestHash): Record<string, unknown> => ({
  name,
  namespace: settings.namespace,
  labels: labelsOf(hash, settings.hostId),
});

/** Private values go to the pod's Secret, under keys `v0`, `v1`…; the Pod only refers to them. */
function secretKeysOf(plan: PodPlan): Map<string, { key: string; value: string }> {
  const keys = new Map<string, { key: string; value: string }>();
  plan.containers.forEach((container, c) => {
    container.env.forEach((variable, v) => {
      if (variable.secret) keys.set(`${c}/${v}`, { key: `v${keys.size}`, value: variable.value });
    });
  });
  return keys;
}

export function secretObject(plan: PodPlan, settings: ObjectSettings): Record<string, unknown> | null {
  const keys = secretKeysOf(plan);
  if (keys.size === 0) return null;
  const data = Object.fromEntries(
    [...keys.values()].map(({ key, value }) => [key, Buffer.from(value).toString('base64')]),
  );
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: metadata(secretName(plan.hash), settings, plan.hash),
    type: 'Opaque',
    data,
  };
}

/** A share of the pod's resources per container: Kubernetes limits containers, the plan the whole pod. */
function limitsOf(plan: PodPlan): { memory: string; cpu: string } {
  const count = Math.max(1, plan.containers.length);
  const memoryMiB = Math.max(4, Math.floor(plan.resources.memoryMiB / count));
  const milliCpu = Math.max(10, Math.floor((plan.resources.vcpu * 1000) / count));
  return { memory: `${memoryMiB}Mi`, cpu: `${milliCpu}m` };
}

function containerObject(
  plan: PodPlan,
  container: ContainerPlan,
  index: number,
  secrets: Map<string, { key: string }>,
) {
  const limits = limitsOf(plan);
  const env = container.env.map((variable, v) => {
    const secret = secrets.get(`${index}/${v}`);
    return secret
      ? { name: variable.name, valueFrom: { secretKeyRef: { name: secretName(plan.hash), key: secret.key } } }
      : { name: variable.name, value: variable.value };
  });
  return {
    name: `c${index}`,
    image: container.image,
    // A node finds a stored image by its digest whatever the name: the registry must serve this reference
    // at every start, or a pod could run an image the node pulled for someone else.
    imagePullPolicy: 'Always',
    // An empty command means the image's own.
    ...(container.command?.length ? { command: container.command } : {}),
    ...(container.workdir ? { workingDir: container.workdir } : {}),
    env,
    resources: { limits, requests: limits },
    securityContext: {
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'], add: POD_CAPABILITIES },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: WRITABLE_DIRS.map((path, d) => ({ name: `c${index}-w${d}`, mountPath: path })),
  };
}

export function podObject(plan: PodPlan, settings: ObjectSettings): Record<string, unknown> {
  const secrets = secretKeysOf(plan);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...metadata(podObjectName(plan.hash), settings, plan.hash),
      annotations: { [ANNOTATION_CONTAINER_IDS]: JSON.stringify(plan.containers.map((c) => c.id)) },
    },
    spec: {
      containers: plan.containers.map((container, index) => containerObject(plan, container, index, secrets)),
      volumes: plan.containers.flatMap((_container, index) =>
        WRITABLE_DIRS.map((_path, d) => ({
          name: `c${index}-w${d}`,
          emptyDir: { medium: 'Memory', sizeLimit: WRITABLE_DIR_LIMIT },
        })),
      ),
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: STOP_GRACE_SECONDS,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      hostNetwork: false,
      hostPID: false,
      hostIPC: false,
      // A user namespace per pod (container root is not the node's root); clusters without the feature
      // ignore the field.
      hostUsers: false,
      ...(settings.runtimeClass ? { runtimeClassName: settings.runtimeClass } : {}),
      securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
    },
  };
}

/** Ports 1–65535 of one protocol without the blocked ones, as NetworkPolicy port ranges. */
function openPortRanges(
  protocol: 'TCP' | 'UDP',
  blocked: readonly PortRule[],
): Array<Record<string, unknown>> {
  const closed = [
    ...new Set(blocked.filter((rule) => rule.protocol.toUpperCase() === protocol).map((rule) => rule.port)),
  ].sort((a, b) => a - b);
  const ranges: Array<Record<string, unknown>> = [];
  let from = 1;
  for (const port of [...closed, 65_536]) {
    if (port > from)
      ranges.push(port - 1 === from ? { protocol, port: from } : { protocol, port: from, endPort: port - 1 });
    from = port + 1;
  }
  return ranges;
}

/**
 * The pod's containment, as the host firewall's: egress to the public internet only (every non-public
 * range, 169.254.0.0/16 included, and the operator's list excepted), never on blocked ports; DNS to the
 * cluster's resolver; the ILP port on codiusd's pods. Ingress only from codiusd's pods, on the pod's port:
 * no pod reaches another.
 */
export function networkPolicyObject(plan: PodPlan, settings: ObjectSettings): Record<string, unknown> {
  const v4 = settings.blockedNetworks
    .filter((rule) => rule.family === 'ipv4')
    .map((rule) => `${rule.address}/${rule.prefix}`);
  const v6 = settings.blockedNetworks
    .filter((rule) => rule.family === 'ipv6')
    .map((rule) => `${rule.address}/${rule.prefix}`);
  // Selected by namespace too: a pod labelled like codiusd or the cluster's DNS in any other namespace
  // (a tenant's own, on a shared cluster) must not become reachable.
  const codiusd = {
    namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: settings.namespace } },
    podSelector: { matchLabels: CODIUSD_POD_LABELS },
  };
  const egress: Array<Record<string, unknown>> = [
    {
      to: [{ ipBlock: { cidr: '0.0.0.0/0', except: v4 } }, { ipBlock: { cidr: '::/0', except: v6 } }],
      ports: [
        ...openPortRanges('TCP', settings.blockedPorts),
        ...openPortRanges('UDP', settings.blockedPorts),
      ],
    },
    {
      to: [
        {
          namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: 'kube-system' } },
          podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
        },
      ],
      ports: [
        { protocol: 'UDP', port: 53 },
        { protocol: 'TCP', port: 53 },
      ],
    },
  ];
  if (settings.ilpPort !== null)
    egress.push({ to: [codiusd], ports: [{ protocol: 'TCP', port: settings.ilpPort }] });
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: metadata(podObjectName(plan.hash), settings, plan.hash),
    spec: {
      podSelector: { matchLabels: { [LABEL_MANIFEST_HASH]: plan.hash } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: plan.port === null ? [] : [{ from: [codiusd], ports: [{ protocol: 'TCP', port: plan.port }] }],
      egress,
    },
  };
}
