import { randomBytes } from 'node:crypto';
import type { Server, ServerInjectResponse } from '@hapi/hapi';
import { after } from 'node:test';
import type { HostAsset, Manifest } from '../../src/domain/types.js';
import { createHostInfoService } from '../../src/host/host-info.js';
import { createPublicApi } from '../../src/http/public-api.js';
import { createBillingService, type BillingService } from '../../src/payments/billing.js';
import { createStreamMethod } from '../../src/payments/methods/stream.js';
import { createUploadService } from '../../src/uploads/upload-service.js';
import { createCapacity } from '../../src/pods/capacity.js';
import { createPodDirectory, type PodDirectory } from '../../src/pods/pod-directory.js';
import { createPodManager, type PodManager } from '../../src/pods/pod-manager.js';
import { createPrivateVarsCipher } from '../../src/pods/private-vars.js';
import { createRegistryPolicy, type RegistryPolicy } from '../../src/runtime/registry-policy.js';
import { openStore, type Store } from '../../src/store/store.js';
import { createFakeReceiver, type FakeReceiver } from '../fakes/receiver.js';
import { createFakeRuntime, type FakeRuntime } from '../fakes/runtime.js';
import { capturingLogger } from './logs.js';

export const PUBLIC_URI = 'https://codius.example.com';
/** 10 XRP per month at scale 9: the golden prices. */
export const PRICE_600 = 2_283_106n;
export const PRICE_300 = 1_141_553n;

export interface ApiHost {
  server: Server;
  store: Store;
  runtime: FakeRuntime;
  receiver: FakeReceiver;
  pods: PodManager;
  billing: BillingService;
  directory: PodDirectory;
  logs: ReturnType<typeof capturingLogger>;
  /** The host asset; null makes the host "not connected" to its ILP provider. */
  asset: { current: HostAsset | null };
  /** A request, with a fresh Pay-Token unless one is given. */
  inject(options: InjectOptions): Promise<ServerInjectResponse>;
  /** The HTTP-ILP dance: request, 402, the payer pays up to `pays`, the same request again. */
  paid(options: InjectOptions & { pays: bigint }): Promise<{
    first: ServerInjectResponse;
    response: ServerInjectResponse;
    token: Buffer;
  }>;
}

export interface InjectOptions {
  method: 'GET' | 'POST' | 'PUT' | 'OPTIONS';
  url: string;
  payload?: unknown;
  token?: Buffer | null;
  headers?: Record<string, string>;
}

/**
 * The public API over the real pod manager, billing service and store (sqlite in memory), with the
 * in-memory runtime and payment receiver: everything a request does except talking to Podman and moneyd.
 */
export async function openApiHost(
  options: { totalMemoryBytes?: number; costPerMonth?: string; registries?: RegistryPolicy } = {},
): Promise<ApiHost> {
  const logs = capturingLogger();
  const store = await openStore({ root: '', inMemory: true });
  const runtime = createFakeRuntime();
  const receiver = createFakeReceiver();
  const directory = createPodDirectory();
  const pods = createPodManager({
    store,
    directory,
    runtime,
    cipher: createPrivateVarsCipher(randomBytes(32)),
    logger: logs.logger,
    publicUri: PUBLIC_URI,
    reconcileIntervalMs: 3_600_000,
  });
  await pods.start();
  pods.startReconciling();
  // The first reconcile pass runs in the background; these tests start from its outcome.
  await pods.reconcile().catch(() => undefined);
  const asset: { current: HostAsset | null } = { current: { code: 'XRP', scale: 9 } };
  const billing = createBillingService({
    ledger: store.ledger,
    methods: [
      createStreamMethod({
        receiver,
        asset: () => asset.current,
        costPerMonth: () => options.costPerMonth ?? '10',
        timeoutMs: 1_000,
        recover: () => Promise.resolve(),
      }),
    ],
    logger: logs.logger,
  });
  const capacity = createCapacity(
    { totalMemoryBytes: options.totalMemoryBytes ?? 8 * 2 ** 30, maxMemoryFraction: 0.75 },
    { usage: () => store.pods.usage(), hasLivePod: async (hash) => (await pods.get(hash)) !== undefined },
  );
  const hostInfo = createHostInfoService(
    { publicUri: PUBLIC_URI, additionalHostInfo: true, maxListedPeers: 1000 },
    {
      revision: () => directory.revision() + capacity.revision(),
      podUsage: () => store.pods.usage(),
      capacity,
      peerCount: () => store.peers.count(),
      peerUris: (limit) => store.peers.listUris(limit),
      asset: () => asset.current,
      readyForUploads: () => pods.ready() && asset.current !== null,
      podsReconciled: () => pods.firstPassDone(),
      selfTestSucceeded: () => false,
      costPerMonth: () => options.costPerMonth ?? '10',
    },
  );
  const server = await createPublicApi(
    {
      host: '127.0.0.1',
      port: 0,
      publicUri: PUBLIC_URI,
      maxDurationSeconds: 31_536_000,
      logger: logs.logger,
    },
    {
      hostInfo,
      uploads: createUploadService(
        { publicUri: PUBLIC_URI, quoteMode: 'free', maxContainers: 10, paymentTimeoutMs: 1_000 },
        {
          pods,
          capacity,
          billing,
          registries: options.registries ?? createRegistryPolicy({ allowPrivate: true, allowed: [] }),
        },
      ),
      pods,
      peers: { listUris: () => store.peers.listUris(), offer: () => undefined },
    },
  );
  after(async () => {
    await pods.stop();
    await store.close();
  });

  async function inject(request: InjectOptions): Promise<ServerInjectResponse> {
    const token = request.token === undefined ? randomBytes(16) : request.token;
    return server.inject({
      method: request.method,
      url: request.url,
      headers: {
        ...(token ? { 'pay-token': token.toString('base64url') } : {}),
        ...(request.payload === undefined ? {} : { 'content-type': 'application/json' }),
        ...request.headers,
      },
      ...(request.payload === undefined
        ? {}
        : {
            payload: typeof request.payload === 'string' ? request.payload : JSON.stringify(request.payload),
          }),
    });
  }

  return {
    server,
    store,
    runtime,
    receiver,
    pods,
    billing,
    directory,
    logs,
    asset,
    inject,
    async paid(request) {
      const token = request.token ?? randomBytes(16);
      const first = await inject({ ...request, token });
      if (first.statusCode !== 402 || !first.headers.pay) return { first, response: first, token };
      receiver.pay(token, request.pays);
      return { first, response: await inject({ ...request, token }), token };
    },
  };
}

/** A manifest of one web container on port 3000, unique per call. */
export function webManifest(name = 'web', extra: Partial<Manifest> = {}): Manifest {
  return {
    name: `${name}-${randomBytes(4).toString('hex')}`,
    version: '1.0.0',
    port: '3000',
    containers: [{ id: 'web', image: 'registry.example/web@sha256:' + 'a'.repeat(64) }],
    ...extra,
  };
}

/** The JSON body of an injected response. */
export function bodyOf(response: ServerInjectResponse): Record<string, unknown> {
  return JSON.parse(response.payload) as Record<string, unknown>;
}
