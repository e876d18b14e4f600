import { PassThrough, Writable, type Readable } from 'node:stream';
import type * as k8s from '@kubernetes/client-node';
import { RuntimeApiError, RuntimeUnavailableError } from '../errors.js';

/** A Kubernetes object as the API sends it (plain JSON; the driver reads only a few fields). */
export interface KubeObject {
  metadata?: {
    name?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: unknown;
  };
  status?: {
    phase?: string;
    podIP?: string;
    containerStatuses?: Array<{
      name: string;
      state?: {
        running?: unknown;
        waiting?: { reason?: string; message?: string };
        terminated?: { exitCode?: number; reason?: string };
      };
    }>;
  };
}

export type Resource = 'pods' | 'secrets' | 'networkpolicies';
type Verb = 'create' | 'get' | 'list' | 'delete' | 'watch';

/** The calls the driver makes, each in one namespace, with Kubernetes failures as runtime errors. */
export interface KubeApi {
  readonly namespace: string;
  create(resource: Resource, body: Record<string, unknown>): Promise<void>;
  /** Null when there is no such object. */
  read(resource: 'pods', name: string): Promise<KubeObject | null>;
  list(resource: Resource, labelSelector: string): Promise<KubeObject[]>;
  /** Resolves also when there was no such object. */
  remove(resource: Resource, name: string, gracePeriodSeconds?: number): Promise<void>;
  /** A container's log as text; aborting `signal` ends it. */
  logs(pod: string, container: string, options: { follow: boolean; signal: AbortSignal }): Promise<Readable>;
  /** Watches this host's pods; `done` is called once when the watch ends (null: closed by the server). */
  watchPods(
    labelSelector: string,
    onEvent: (type: string, pod: KubeObject) => void,
    done: (error: unknown) => void,
  ): Promise<() => void>;
}

const API_GROUP: Record<Resource, string> = {
  pods: '""',
  secrets: '""',
  networkpolicies: '"networking.k8s.io"',
};

function statusMessage(body: unknown): string {
  if (typeof body !== 'string') return '';
  try {
    const status = JSON.parse(body) as { message?: unknown };
    return typeof status.message === 'string' ? status.message : body.slice(0, 300);
  } catch {
    return body.slice(0, 300);
  }
}

/** A failed call as the runtime error codiusd answers with; 404 is returned for callers that expect it. */
export function toRuntimeError(error: unknown, verb: Verb, resource: Resource, namespace: string): Error {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'number' && 'body' in (error as object)) {
    const message = statusMessage((error as { body?: unknown }).body);
    if (code === 403) {
      return new RuntimeApiError(
        403,
        `Kubernetes refused to ${verb} ${resource} in namespace ${namespace}: codiusd's service account needs ` +
          `the RBAC verb "${verb}" on "${resource}" (API group ${API_GROUP[resource]}); see contrib/kubernetes (${message})`,
        { cause: error },
      );
    }
    return new RuntimeApiError(code, `Kubernetes ${verb} ${resource}: ${code} ${message}`, { cause: error });
  }
  const text = error instanceof Error ? error.message : String(error);
  return new RuntimeUnavailableError(`Kubernetes API: ${text}`, { cause: error });
}

const isNotFound = (error: unknown): boolean =>
  (error as { code?: unknown }).code === 404 && 'body' in (error as object);

/** Every answer is bounded: the client has no timeout of its own. */
const CALL_TIMEOUT_MS = 15_000;

export async function createKubeApi(kc: k8s.KubeConfig, namespace: string): Promise<KubeApi> {
  const client = await import('@kubernetes/client-node');
  const timeout: k8s.ObservableMiddleware = {
    pre: (context) => {
      context.setSignal(AbortSignal.timeout(CALL_TIMEOUT_MS));
      return new client.Observable(Promise.resolve(context));
    },
    post: (response) => new client.Observable(Promise.resolve(response)),
  };
  const options = { middleware: [timeout], middlewareMergeStrategy: 'append' as const };
  const core = kc.makeApiClient(client.CoreV1Api);
  const networking = kc.makeApiClient(client.NetworkingV1Api);
  const plain = (value: unknown): KubeObject => JSON.parse(JSON.stringify(value)) as KubeObject;

  async function call<T>(verb: Verb, resource: Resource, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw toRuntimeError(error, verb, resource, namespace);
    }
  }

  return {
    namespace,
    async create(resource, body) {
      await call('create', resource, async () => {
        if (resource === 'pods') await core.createNamespacedPod({ namespace, body: body }, options);
        else if (resource === 'secrets')
          await core.createNamespacedSecret({ namespace, body: body }, options);
        else await networking.createNamespacedNetworkPolicy({ namespace, body: body }, options);
      });
    },
    async read(_resource, name) {
      try {
        return plain(await core.readNamespacedPod({ name, namespace }, options));
      } catch (error) {
        if (isNotFound(error)) return null;
        throw toRuntimeError(error, 'get', 'pods', namespace);
      }
    },
    async list(resource, labelSelector) {
      return call('list', resource, async () => {
        const request = { namespace, labelSelector };
        const list =
          resource === 'pods'
            ? await core.listNamespacedPod(request, options)
            : resource === 'secrets'
              ? await core.listNamespacedSecret(request, options)
              : await networking.listNamespacedNetworkPolicy(request, options);
        return list.items.map(plain);
      });
    },
    async remove(resource, name, gracePeriodSeconds) {
      try {
        const request = {
          name,
          namespace,
          ...(gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds }),
        };
        if (resource === 'pods') await core.deleteNamespacedPod(request, options);
        else if (resource === 'secrets') await core.deleteNamespacedSecret(request, options);
        else await networking.deleteNamespacedNetworkPolicy(request, options);
      } catch (error) {
        if (!isNotFound(error)) throw toRuntimeError(error, 'delete', resource, namespace);
      }
    },
    async logs(pod, container, { follow, signal }) {
      const text = new PassThrough();
      const sink = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          text.write(chunk, callback);
        },
        final(callback) {
          text.end();
          callback();
        },
      });
      try {
        const controller = await new client.Log(kc).log(namespace, pod, container, sink, { follow });
        const stop = (): void => {
          controller.abort();
          text.end();
        };
        if (signal.aborted) stop();
        else signal.addEventListener('abort', stop, { once: true });
      } catch (error) {
        throw toRuntimeError(error, 'get', 'pods', namespace);
      }
      return text;
    },
    async watchPods(labelSelector, onEvent, done) {
      const controller = await new client.Watch(kc).watch(
        `/api/v1/namespaces/${namespace}/pods`,
        { labelSelector, allowWatchBookmarks: true },
        (type: string, object: unknown) => onEvent(type, plain(object)),
        done,
      );
      return () => controller.abort();
    },
  };
}
