import type { Readable } from 'node:stream';
import type { ManifestHash, PodPlan } from '../domain/types.js';
import type { PodNetwork } from './pod-network.js';

/** What a runtime reports about one of this host's pods. */
export interface RuntimePod {
  hash: ManifestHash;
  /** True only when the pod and every container in it are running. */
  running: boolean;
  /** The pod's address on the runtime's network, when known. */
  ip: string | null;
  /** From runPod: the images it had to pull for this pod (others were there already). */
  pulledImages?: string[];
}

/** One container's log as the runtime sends it: Docker stdcopy frames (see stdcopy.ts). */
export interface ContainerLogSource {
  /** The manifest's container id (or `moneyd` for hyperd's sidecar). */
  container: string;
  frames: Readable;
}

export interface LogOptions {
  follow: boolean;
  /** Aborting closes every upstream log request. */
  signal: AbortSignal;
}

/** An image codiusd makes itself (the self test's), from a root filesystem tarball. */
export interface LocalImageSource {
  /** Repository name, e.g. `localhost/codiusd-self-test`. */
  name: string;
  /** Tag naming the content, so an image already imported is reused. */
  tag: string;
  /** The command of the image. */
  cmd: string[];
  /** The root filesystem as a tar stream; only read when the image is not there yet. */
  rootfsTar(): Readable;
}

/**
 * The narrow interface the lifecycle manager drives. Every call is idempotent where that makes sense:
 * deleting a pod that is already gone succeeds, and `runPod` replaces a leftover pod of the same hash.
 */
export interface PodRuntime {
  /** `podman` or `hyperd`, for logs and /info. */
  readonly name: string;
  /** Prepares what pods need (networks, images of sidecars); safe to call again after a failure. */
  prepare(): Promise<void>;
  /**
   * The host network pods join, as the runtime has it (made when missing): the bridge and subnet that
   * whatever guards pods on this host must match. Runtimes whose pods run elsewhere lack it.
   */
  podNetwork?(): Promise<PodNetwork>;
  /** Pulls missing images, creates and starts the pod; resolves once it runs. Cleans up after itself on failure. */
  runPod(plan: PodPlan): Promise<RuntimePod>;
  /** The pod of that hash, or null when the runtime has none. */
  inspectPod(hash: ManifestHash): Promise<RuntimePod | null>;
  /** Every pod this host owns in the runtime, running or not. */
  listPods(): Promise<RuntimePod[]>;
  /** Resolves once the runtime no longer has the pod (also when it never had it). */
  deletePod(hash: ManifestHash): Promise<void>;
  /** Makes the image available locally, pulling it when missing. */
  pullImage(image: string): Promise<void>;
  /** Removes a local image that no container uses ('in-use' leaves it); runtimes without images say 'missing'. */
  removeImage(image: string): Promise<'removed' | 'missing' | 'in-use'>;
  /** Opens the logs of every container of the pod; null when the runtime has no such pod. */
  openLogs(hash: ManifestHash, options: LogOptions): Promise<ContainerLogSource[] | null>;
  /**
   * Imports an image built on this host and returns its reference by digest (`name@sha256:…`), which
   * manifests can use. Runtimes that cannot take local images lack it.
   */
  importImage?(source: LocalImageSource): Promise<string>;
  /**
   * Runtimes that report changes themselves (a Kubernetes watch) call `changed` with the hash of a pod that
   * changed or went away outside codiusd, so the host can reconcile at once rather than at the next pass.
   */
  watchPods?(changed: (hash: ManifestHash) => void): void;
  /** Releases connections and any process the driver started. Pods keep running. */
  close(): Promise<void>;
}
