import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { loadAll } from 'js-yaml';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { RuntimeClass } from 'kubernetes-models/node.k8s.io/v1/RuntimeClass';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { CODIUSD_POD_LABELS } from '../../src/runtime/kubernetes/objects.js';

const DIR = new URL('../../../contrib/kubernetes/', import.meta.url);
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  Namespace,
  ServiceAccount,
  Role,
  RoleBinding,
  RuntimeClass,
  PersistentVolumeClaim,
  Deployment,
  Service,
};

describe('contrib/kubernetes', () => {
  it('holds valid objects of every kind the set needs', async () => {
    const kinds: string[] = [];
    for (const file of (await readdir(DIR)).filter((name) => name.endsWith('.yaml'))) {
      for (const object of loadAll(await readFile(new URL(file, DIR), 'utf8')) as Array<{
        kind: string;
      }>) {
        const Model = MODELS[object.kind];
        assert.ok(Model, `${file}: unexpected kind ${object.kind}`);
        new Model(object as never).validate();
        kinds.push(object.kind);
      }
    }
    assert.deepEqual([...new Set(kinds)].sort(), Object.keys(MODELS).sort());
  });

  it('labels codiusd’s own pods as the pods’ NetworkPolicies expect', async () => {
    const [, deployment] = loadAll(await readFile(new URL('deployment.yaml', DIR), 'utf8')) as Array<{
      spec: { template: { metadata: { labels: Record<string, string> } } };
    }>;
    for (const [key, value] of Object.entries(CODIUSD_POD_LABELS)) {
      assert.equal(deployment?.spec.template.metadata.labels[key], value);
    }
  });
});
