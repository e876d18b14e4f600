/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-explicit-any, @typescript-eslint/no-non-null-assertion -- Kubernetes objects are walked as the plain JSON trees the API sends. */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after } from 'node:test';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Secret } from 'kubernetes-models/v1/Secret';

/**
 * A stand-in for the Kubernetes API server (none can run on this machine), for the calls codiusd's driver
 * makes: pods (create, get, list, delete, watch, log), secrets and networkpolicies (create, list, delete).
 * It answers as the real one does: Status bodies with reason and code, resourceVersion on objects and
 * lists, equality label selectors, newline-delimited watch events, plain-text logs. Every object created
 * is validated against the Kubernetes schemas (kubernetes-models) and the API's own name and label rules;
 * an invalid one gets 422 and is recorded, so tests can assert that none was sent. A Pod "runs" through
 * `runPod`, which the test gives: it starts whatever serves the pod and returns the pod's address.
 */
type Json = Record<string, any>;
type Kind = 'pods' | 'secrets' | 'networkpolicies';

export interface KubeApiFake {
  url: string;
  /** A kubeconfig file for the fake, for KUBECONFIG. */
  kubeconfig: string;
  objects(kind: Kind): Json[];
  /** Requests received, as `METHOD path` (query left out). */
  calls: string[];
  /** Every API verb used on every resource, as RBAC names them (`watch pods`, `get pods/log`). */
  verbs: Set<string>;
  /** Objects refused by schema validation: should stay empty. */
  invalid: Array<{ kind: Kind; message: string }>;
  /** Makes the fake refuse `verb` on `kind` with 403, as missing RBAC would. */
  forbid(verb: string, kind: Kind): void;
  allow(verb: string, kind: Kind): void;
  /** Removes a pod behind codiusd's back (as `kubectl delete pod` would). */
  deletePod(name: string): void;
}

export interface KubeApiOptions {
  namespace: string;
  dir: string;
  runPod(
    pod: Json,
  ): Promise<{ ip: string; stop(): Promise<void> } | { waitingReason: string; message: string }>;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const SINGULAR: Record<Kind, string> = { pods: 'Pod', secrets: 'Secret', networkpolicies: 'NetworkPolicy' };

function status(code: number, reason: string, message: string, details: Json = {}): Json {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    details,
    code,
  };
}

/** The API's own checks beyond the schemas: names (DNS labels here, 63 at most), labels, container names. */
function apiRules(kind: Kind, object: Json): string[] {
  const problems: string[] = [];
  const name = String(object.metadata?.name ?? '');
  if (!DNS_LABEL.test(name) || name.length > 63) problems.push(`metadata.name: Invalid value: "${name}"`);
  for (const [key, value] of Object.entries((object.metadata?.labels ?? {}) as Record<string, string>)) {
    if (!LABEL_KEY.test(key) || key.split('/').pop()!.length > 63)
      problems.push(`metadata.labels: Invalid key: "${key}"`);
    if (!LABEL_VALUE.test(value) || value.length > 63)
      problems.push(`metadata.labels: Invalid value: "${value}"`);
  }
  if (kind === 'pods') {
    for (const container of (object.spec?.containers ?? []) as Json[]) {
      if (!DNS_LABEL.test(String(container.name)))
        problems.push(`spec.containers.name: Invalid value: "${String(container.name)}"`);
    }
  }
  return problems;
}

function validate(kind: Kind, object: Json): string | null {
  try {
    if (kind === 'pods') new Pod(object).validate();
    else if (kind === 'secrets') new Secret(object).validate();
    else new NetworkPolicy(object).validate();
  } catch (error) {
    return (error as Error).message;
  }
  const problems = apiRules(kind, object);
  return problems.length > 0 ? problems.join(', ') : null;
}

/** `a=b,c!=d,e` against an object's labels (equality-based selectors, as the driver uses). */
function matches(selector: string | null, labels: Record<string, string> = {}): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const [key = '', value] = term.split(/!=|==?/);
    if (value === undefined) return key.trim() in labels;
    return term.includes('!=') ? labels[key.trim()] !== value.trim() : labels[key.trim()] === value.trim();
  });
}

export async function startKubeApi(options: KubeApiOptions): Promise<KubeApiFake> {
  const { namespace } = options;
  const store: Record<Kind, Map<string, Json>> = {
    pods: new Map(),
    secrets: new Map(),
    networkpolicies: new Map(),
  };
  const running = new Map<string, { stop(): Promise<void> }>();
  const watchers = new Set<{ selector: string | null; res: ServerResponse }>();
  const forbidden = new Set<string>();
  const calls: string[] = [];
  const verbs = new Set<string>();
  const invalid: Array<{ kind: Kind; message: string }> = [];
  let version = 100;

  const bump = (object: Json): Json => {
    version += 1;
    object.metadata.resourceVersion = String(version);
    return object;
  };
  const emit = (type: string, pod: Json): void => {
    for (const watcher of watchers) {
      if (matches(watcher.selector, pod.metadata?.labels))
        watcher.res.write(`${JSON.stringify({ type, object: pod })}\n`);
    }
  };

  async function schedule(pod: Json): Promise<void> {
    const outcome = await options.runPod(pod);
    const name = String(pod.metadata.name);
    if (store.pods.get(name) !== pod || pod.metadata.deletionTimestamp) {
      if ('stop' in outcome) await outcome.stop();
      return;
    }
    const names = (pod.spec.containers as Json[]).map((c) => String(c.name));
    if ('stop' in outcome) {
      running.set(name, outcome);
      pod.status = {
        phase: 'Running',
        podIP: outcome.ip,
        containerStatuses: names.map((n) => ({
          name: n,
          ready: true,
          restartCount: 0,
          state: { running: { startedAt: new Date().toISOString() } },
        })),
      };
    } else {
      pod.status = {
        phase: 'Pending',
        containerStatuses: names.map((n) => ({
          name: n,
          ready: false,
          restartCount: 0,
          state: { waiting: { reason: outcome.waitingReason, message: outcome.message } },
        })),
      };
    }
    emit('MODIFIED', bump(pod));
  }

  function removePod(name: string): void {
    const pod = store.pods.get(name);
    if (!pod) return;
    pod.metadata.deletionTimestamp = new Date().toISOString();
    emit('MODIFIED', bump(pod));
    // The kubelet stops the containers within the grace period; the object goes once they have.
    setTimeout(() => {
      void (async () => {
        await running.get(name)?.stop();
        running.delete(name);
        store.pods.delete(name);
        emit('DELETED', bump(pod));
      })();
    }, 100);
  }

  function send(res: ServerResponse, code: number, body: Json | string, type = 'application/json'): void {
    res.writeHead(code, { 'content-type': type });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    calls.push(`${method} ${url.pathname}`);
    const match =
      /^\/api\/v1\/namespaces\/([^/]+)\/(pods|secrets)(?:\/([^/]+))?(\/log)?$/.exec(url.pathname) ??
      /^\/apis\/networking\.k8s\.io\/v1\/namespaces\/([^/]+)\/(networkpolicies)(?:\/([^/]+))?()$/.exec(
        url.pathname,
      );
    if (!match) {
      send(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
      return;
    }
    const [, ns = '', kindText = '', name, log] = match;
    const kind = kindText as Kind;
    const watching = url.searchParams.get('watch') === 'true';
    const verb = watching
      ? 'watch'
      : method === 'POST'
        ? 'create'
        : method === 'DELETE'
          ? 'delete'
          : name
            ? 'get'
            : 'list';
    verbs.add(`${verb} ${kind}${log ? '/log' : ''}`);
    if (forbidden.has(`${verb} ${kind}`)) {
      send(
        res,
        403,
        status(
          403,
          'Forbidden',
          `${kind} is forbidden: User "system:serviceaccount:${namespace}:codiusd" cannot ${verb} resource "${kind}" in API group "${kind === 'networkpolicies' ? 'networking.k8s.io' : ''}" in the namespace "${ns}"`,
          { kind },
        ),
      );
      return;
    }
    if (ns !== namespace) {
      send(
        res,
        404,
        status(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' }),
      );
      return;
    }
    const objects = store[kind];
    if (method === 'POST' && !name) {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json;
      const problem = validate(kind, body);
      if (problem) {
        invalid.push({ kind, message: problem });
        send(
          res,
          422,
          status(
            422,
            'Invalid',
            `${SINGULAR[kind]} "${String(body.metadata?.name)}" is invalid: ${problem}`,
            { kind },
          ),
        );
        return;
      }
      const objectName = String(body.metadata.name);
      if (objects.has(objectName)) {
        send(
          res,
          409,
          status(409, 'AlreadyExists', `${kind} "${objectName}" already exists`, { name: objectName, kind }),
        );
        return;
      }
      const object = bump({
        ...body,
        metadata: {
          ...body.metadata,
          namespace: ns,
          uid: randomUUID(),
          creationTimestamp: new Date().toISOString(),
        },
      });
      if (kind === 'pods') object.status = { phase: 'Pending' };
      objects.set(objectName, object);
      if (kind === 'pods') {
        emit('ADDED', object);
        setTimeout(() => void schedule(object), 50);
      }
      send(res, 201, object);
      return;
    }
    if (method === 'GET' && watching && kind === 'pods') {
      res.writeHead(200, { 'content-type': 'application/json' });
      const watcher = { selector: url.searchParams.get('labelSelector'), res };
      watchers.add(watcher);
      for (const pod of objects.values())
        if (matches(watcher.selector, pod.metadata.labels))
          res.write(`${JSON.stringify({ type: 'ADDED', object: pod })}\n`);
      req.once('close', () => watchers.delete(watcher));
      return;
    }
    if (method === 'GET' && !name) {
      const selector = url.searchParams.get('labelSelector');
      const items = [...objects.values()].filter((o) => matches(selector, o.metadata.labels));
      send(res, 200, {
        kind: `${SINGULAR[kind]}List`,
        apiVersion: kind === 'networkpolicies' ? 'networking.k8s.io/v1' : 'v1',
        metadata: { resourceVersion: String(version) },
        items,
      });
      return;
    }
    const object = name === undefined ? undefined : objects.get(name);
    if (!object) {
      send(res, 404, status(404, 'NotFound', `${kind} "${String(name)}" not found`, { name, kind }));
      return;
    }
    if (method === 'GET' && log) {
      if (object.status?.phase !== 'Running') {
        send(res, 400, status(400, 'BadRequest', `container is waiting to start`));
        return;
      }
      const container = url.searchParams.get('container') ?? '';
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write(`log line 1 of ${container}\nlog line 2 of ${container}\n`);
      if (url.searchParams.get('follow') !== 'true') res.end();
      return;
    }
    if (method === 'GET') {
      send(res, 200, object);
      return;
    }
    if (method === 'DELETE') {
      if (kind === 'pods') {
        removePod(String(name));
        send(res, 200, object);
        return;
      }
      objects.delete(String(name));
      send(res, 200, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Success',
        details: { name, kind, uid: object.metadata.uid },
      });
      return;
    }
    send(res, 405, status(405, 'MethodNotAllowed', `${method} is not supported`));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => send(res, 500, status(500, 'InternalError', String(error))));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const kubeconfig = join(options.dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'codiusd', user: { token: 'fake-service-account-token' } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'codiusd', namespace } }],
      'current-context': 'fake',
    }),
  );
  after(async () => {
    for (const watcher of watchers) watcher.res.end();
    for (const pod of running.values()) await pod.stop();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    url,
    kubeconfig,
    objects: (kind) => [...store[kind].values()],
    calls,
    verbs,
    invalid,
    forbid: (verb, kind) => forbidden.add(`${verb} ${kind}`),
    allow: (verb, kind) => forbidden.delete(`${verb} ${kind}`),
    deletePod: removePod,
  };
}
