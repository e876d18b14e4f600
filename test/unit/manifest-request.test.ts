import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PodRequest } from '../../src/domain/types.js';
import {
  buildPodPlan,
  checkQuotedManifest,
  hashManifest,
  hashPrivateVar,
  parsePodRequest,
  parsePort,
} from '../../src/manifest/index.js';
import type { CodiusError, ValidationDetail } from '../../src/domain/errors.js';
import { answerOf } from '../helpers/errors.js';
import { goldenVectors } from '../helpers/spec.js';

const readme = (): PodRequest =>
  structuredClone({
    manifest: goldenVectors.manifests.readme_with_vars?.manifest,
    private: { vars: { AWS_SECRET_KEY: { nonce: '123450325', value: 'AKRTP2SB9AF5TQQ1N1BC' } } },
  }) as PodRequest;

function minimal(extra: Record<string, unknown> = {}, container: Record<string, unknown> = {}): unknown {
  return {
    manifest: {
      name: 'n',
      version: '1',
      containers: [
        {
          id: 'a',
          image: 'registry.example/i@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
          ...container,
        },
      ],
      ...extra,
    },
  };
}

interface Answered {
  /** The wire text. */
  message: string;
  validation?: ValidationDetail;
  /** The error itself, as it would be logged. */
  error: CodiusError;
}

/** What the client is answered for the error `work` throws: status and the exact wire text. */
function expectError(work: () => unknown, status: number, message: string | RegExp): Answered {
  try {
    work();
  } catch (error) {
    const answer = answerOf(error);
    assert.equal(answer.status, status);
    if (typeof message === 'string') assert.equal(answer.message, message);
    else assert.match(answer.message, message);
    const validation = answer.extra?.validation as ValidationDetail | undefined;
    return { message: answer.message, error: error as CodiusError, ...(validation ? { validation } : {}) };
  }
  assert.fail('expected a CodiusError');
}

describe('pod request schema', () => {
  it('accepts the spec examples and minimal manifests, with empty strings where JSON Schema allows them', () => {
    assert.doesNotThrow(() => parsePodRequest(readme()));
    assert.doesNotThrow(() => parsePodRequest({ manifest: goldenVectors.manifests.selftest?.manifest }));
    assert.doesNotThrow(() => parsePodRequest(minimal({ name: '', debug: true, port: '8080' })));
    assert.doesNotThrow(() =>
      parsePodRequest(minimal({}, { environment: { A: '' }, command: [], workdir: '' })),
    );
    assert.doesNotThrow(() => parsePodRequest({ ...(minimal() as object), private: {} }));
  });

  const invalid: Array<[string, unknown, string[]]> = [
    ['no manifest', {}, ['manifest']],
    ['extra top-level key', { ...(minimal() as object), duration: 3600 }, ['duration']],
    ['no containers', { manifest: { name: 'n', version: '1', containers: [] } }, ['manifest', 'containers']],
    [
      'missing version',
      {
        manifest: {
          name: 'n',
          containers: [
            {
              id: 'a',
              image:
                'registry.example/i@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
            },
          ],
        },
      },
      ['manifest', 'version'],
    ],
    ['container without image', minimal({}, { image: undefined }), ['manifest', 'containers', '0', 'image']],
    ['extra container key', minimal({}, { ports: [80] }), ['manifest', 'containers', '0', 'ports']],
    ['numeric port', minimal({ port: 8080 }), ['manifest', 'port']],
    ['port "0"', minimal({ port: '0' }), ['manifest', 'port']],
    ['empty port', minimal({ port: '' }), ['manifest', 'port']],
    ['unknown machine', minimal({ machine: 'large' }), ['manifest', 'machine']],
    ['string debug (coercing it would change the hash)', minimal({ debug: 'true' }), ['manifest', 'debug']],
    [
      'var description',
      minimal({ vars: { A: { value: 'x', description: 'd' } } }),
      ['manifest', 'vars', 'A', 'description'],
    ],
    [
      'unknown encoding',
      minimal({ vars: { A: { value: 'x', encoding: 'base64' } } }),
      ['manifest', 'vars', 'A', 'encoding'],
    ],
    [
      'non-string env value',
      minimal({}, { environment: { A: 1 } }),
      ['manifest', 'containers', '0', 'environment', 'A'],
    ],
    ['null private', { ...(minimal() as object), private: null }, ['private']],
    [
      'private var without nonce',
      { ...(minimal() as object), private: { vars: { A: { value: 'v' } } } },
      ['private', 'vars', 'A', 'nonce'],
    ],
    ['not an object', 'manifest', []],
  ];
  for (const [name, body, keys] of invalid) {
    it(`rejects ${name}: 400 "Invalid request payload input" with a readable detail`, () => {
      const error = expectError(() => parsePodRequest(body), 400, 'Invalid request payload input');
      assert.equal(error.validation?.source, 'payload');
      assert.deepEqual(error.validation.keys, keys);
      assert.ok(error.validation.reason.length > 0);
    });
  }

  it('does not change the manifest, so the hash is the client’s', () => {
    const body = readme();
    const before = hashManifest(body.manifest);
    assert.equal(hashManifest(parsePodRequest(body).manifest), before);
    assert.equal(before, 'sngmrlrxfjf24y3xkubkhgsk7rhynyodwynhbmlxfkjlw3eb4zlq');
  });
});

describe('variables and interpolation', () => {
  const plan = (request: unknown): ReturnType<typeof buildPodPlan> =>
    buildPodPlan(parsePodRequest(request), { publicUri: 'https://codius.example.com' });

  it('resolves public and verified private variables (spec vector 2)', () => {
    const [container] = plan(readme()).containers;
    const user = container?.env.slice(4);
    assert.deepEqual(user, [
      { name: 'AWS_ACCESS_KEY', value: 'AKRTP2SB9AF5TQQ1N1BB', secret: false },
      { name: 'AWS_SECRET_KEY', value: 'AKRTP2SB9AF5TQQ1N1BC', secret: true },
    ]);
  });

  it('rejects reserved CODIUS* names with the 422 text clients expect', () => {
    expectError(
      () => plan(minimal({}, { environment: { OK: 'x', CODIUS_HOST: 'evil' } })),
      422,
      'environment variables starting in "CODIUS" are reserved. var=CODIUS_HOST',
    );
  });

  it('rejects an undeclared $VAR, printing vars in the wire text', () => {
    expectError(
      () => plan(minimal({}, { environment: { A: '$NOPE' } })),
      422,
      'could not interpolate var. var=$NOPE manifest.vars=undefined',
    );
    expectError(
      () => plan(minimal({ vars: { X: { value: '1' } } }, { environment: { A: '$NOPE' } })),
      422,
      'could not interpolate var. var=$NOPE manifest.vars={"X":{"value":"1"}}',
    );
  });

  it('answers 422, not 500, for a private var when the request has no private object (codiusd#75)', () => {
    const request = readme();
    delete request.private;
    expectError(
      () => plan(request),
      422,
      /^could not interpolate private var\. var=\$AWS_SECRET_KEY manifest\.vars=\{/,
    );
    request.private = { vars: {} };
    expectError(() => plan(request), 422, /^could not interpolate private var\. var=\$AWS_SECRET_KEY/);
  });

  it('rejects a private value that does not match its declared hash', () => {
    const request = readme();
    const entry = { nonce: '123450325', value: 'WRONG' };
    request.private = { vars: { AWS_SECRET_KEY: entry } };
    expectError(
      () => plan(request),
      422,
      `private var does not match hash. var=$AWS_SECRET_KEY encoding=private:sha256 public-hash=95b3449d5b13a4e60e5c0218021354c447907d1762bb410ba8d776bfaa1a3faf hashed-value=${hashPrivateVar(entry)}`,
    );
  });

  it('never puts a private value in an error message', () => {
    const request = readme();
    request.private = { vars: { AWS_SECRET_KEY: { nonce: 'n', value: 'TOP-SECRET-VALUE' } } };
    const error = expectError(() => plan(request), 422, /does not match hash/);
    assert.doesNotMatch(error.message, /TOP-SECRET-VALUE/);
    assert.doesNotMatch(error.error.message, /TOP-SECRET-VALUE/, 'nor in the logged error');
  });

  it('quotes a manifest without its private values (what codius extend-hash sends), checking the rest', () => {
    const request = readme();
    delete request.private;
    const hash = 'sngmrlrxfjf24y3xkubkhgsk7rhynyodwynhbmlxfkjlw3eb4zlq';
    assert.equal(checkQuotedManifest(parsePodRequest(request)), hash);
    assert.equal(checkQuotedManifest(parsePodRequest({ ...request, private: { vars: {} } })), hash);
    const wrong = { ...request, private: { vars: { AWS_SECRET_KEY: { nonce: 'n', value: 'WRONG' } } } };
    expectError(() => checkQuotedManifest(parsePodRequest(wrong)), 422, /^private var does not match hash/);
    expectError(
      () => checkQuotedManifest(parsePodRequest(minimal({}, { environment: { A: '$NOPE' } }))),
      422,
      /^could not interpolate var\. var=\$NOPE/,
    );
    expectError(
      () => checkQuotedManifest(parsePodRequest(minimal({}, { environment: { CODIUS_X: '1' } }))),
      422,
      /^environment variables starting in "CODIUS" are reserved/,
    );
  });

  it('reads $$ as a literal $, and plain values literally', () => {
    const [container] = plan(
      minimal({}, { environment: { PRICE: '$$5', RAW: 'a$b', DOLLARS: '$$$X' } }),
    ).containers;
    assert.deepEqual(
      container?.env.slice(4).map((e) => [e.name, e.value]),
      [
        ['PRICE', '$5'],
        ['RAW', 'a$b'],
        ['DOLLARS', '$$X'],
      ],
    );
  });
});

describe('pod plan', () => {
  it('injects CODIUS, CODIUS_HOST, CODIUS_MANIFEST_HASH, CODIUS_MANIFEST first, then the user env', () => {
    const request = parsePodRequest({ manifest: goldenVectors.manifests.selftest?.manifest });
    const result = buildPodPlan(request, { publicUri: 'https://codius.example.com' });
    const hash = 'rpxbd7xgjwmua5l3obxphu2ueqlngji3tay3go5jqyhb5v6inpsa';
    assert.equal(result.hash, hash);
    assert.deepEqual(result.resources, { vcpu: 1, memoryMiB: 512 });
    assert.equal(result.port, 3000);
    assert.equal(result.debug, false);
    const container = result.containers[0];
    assert.ok(container);
    assert.equal(container.name, `${hash}__codius-test`);
    assert.deepEqual(
      container.env.map((e) => e.name),
      ['CODIUS', 'CODIUS_HOST', 'CODIUS_MANIFEST_HASH', 'CODIUS_MANIFEST', 'PORT'],
    );
    assert.equal(container.env[1]?.value, 'https://codius.example.com');
    assert.equal(container.env[2]?.value, hash);
    // CODIUS_MANIFEST keeps the keys in the order the client sent them.
    const manifestJson = container.env[3]?.value ?? '';
    assert.equal(manifestJson, JSON.stringify(request.manifest));
    assert.ok(manifestJson.startsWith('{"name":"Codius Test 200","version":"1.0.0","machine"'));
  });

  it('keeps private values out of CODIUS_MANIFEST', () => {
    const result = buildPodPlan(readme(), { publicUri: 'https://h.example' });
    const manifestEnv = result.containers[0]?.env.find((e) => e.name === 'CODIUS_MANIFEST')?.value ?? '';
    assert.doesNotMatch(manifestEnv, /AKRTP2SB9AF5TQQ1N1BC/);
    assert.doesNotMatch(JSON.stringify(result.manifest), /AKRTP2SB9AF5TQQ1N1BC/);
  });

  it('takes a port only when it is a usable TCP port', () => {
    assert.equal(parsePort('8080'), 8080);
    assert.equal(parsePort(undefined), null);
    assert.equal(parsePort('abc1'), null);
    assert.equal(parsePort(' 8080'), null);
    assert.equal(parsePort('70000'), null);
  });
});
