import type { AddressRule } from '../net/address-list.js';
import type { PortRule } from '../net/port-list.js';
import { describePodNetwork, type PodNetwork } from './pod-network.js';

/** Each driver's own configuration section. */
/** The OCI runtimes pods can run under. */
export type OciRuntime = 'runc' | 'crun' | 'runsc';

export interface PodmanSettings {
  /** libpod socket of a running service; null: codiusd runs `podman system service` under its root. */
  socket: string | null;
  network: string;
  subnet: string;
  ociRuntime: OciRuntime;
}

export interface HyperdSettings {
  socket: string;
  /** No-op mode (CODIUS_HYPER_NOOP): nothing reaches hyperd. */
  noop: boolean;
}

export interface KubernetesSettings {
  namespace: string;
  runtimeClass: string | null;
  /** The host firewall's containment, which each pod's NetworkPolicy repeats. */
  blockedNetworks: AddressRule[];
  blockedPorts: PortRule[];
}

export interface RuntimeSettings {
  kind: 'podman' | 'hyperd' | 'kubernetes';
  imagePullTimeoutMs: number;
  reconcileIntervalMs: number;
  podman: PodmanSettings;
  hyperd: HyperdSettings;
  kubernetes: KubernetesSettings;
}

/** The pod network a Podman host's pods join, as configured. */
export function podmanNetwork(settings: PodmanSettings): PodNetwork {
  return describePodNetwork(settings.network, settings.subnet);
}
