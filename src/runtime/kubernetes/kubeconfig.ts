import { access } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { RuntimeUnavailableError } from '../errors.js';
import { checkKubernetesClientRuns } from './client-support.js';

/**
 * The cluster to run pods on: KUBECONFIG (or ~/.kube/config) when there is one, else the service account
 * of the pod codiusd runs in. Without either there is no cluster to talk to, which is said plainly (the
 * client library would otherwise try http://localhost:8080).
 */
export async function loadKubeConfig(env: NodeJS.ProcessEnv = process.env): Promise<KubeConfig> {
  checkKubernetesClientRuns();
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  const file = env.KUBECONFIG ?? join(homedir(), '.kube', 'config');
  const hasFile = await access(file).then(
    () => true,
    () => false,
  );
  if (hasFile) kc.loadFromFile(file);
  else if (env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else {
    throw new RuntimeUnavailableError(
      'CODIUS_RUNTIME=kubernetes needs KUBECONFIG (or ~/.kube/config), or to run inside the cluster',
    );
  }
  return kc;
}
