import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import codiusManifest from 'codius-manifest';
import type { Manifest } from '../../src/domain/types.js';
import { canonicalJson, hashManifest, hashPrivateVar } from '../../src/manifest/index.js';
import { podSecret } from '../../src/secret.js';
import { goldenVectors } from '../helpers/spec.js';

describe('manifest hashing: golden vectors', () => {
  for (const [name, vector] of Object.entries(goldenVectors.manifests)) {
    it(`${name}: canonical bytes, sha256 and hash`, () => {
      const manifest = vector.manifest as Manifest;
      const canonical = Buffer.from(canonicalJson(manifest), 'utf8');
      assert.equal(canonical.toString('hex'), vector.canonical_utf8_hex);
      assert.equal(canonical.length, vector.canonical_byte_length);
      const hash = hashManifest(manifest);
      assert.equal(hash, vector.manifest_hash);
      assert.match(hash, /^[a-z2-7]{51}[aq]$/);
    });
  }

  it('hashes only the manifest, never the wrapper', () => {
    const manifest = goldenVectors.manifests.selftest?.manifest as Manifest;
    const wrapper = { manifest, private: {} } as unknown as Manifest;
    assert.equal(hashManifest(wrapper), 'shhxfyvlmasbqzlun6ndhvuwe2oejzqkdx2fwwbpc6lpumf65rfa');
    assert.equal(hashManifest(manifest), 'rpxbd7xgjwmua5l3obxphu2ueqlngji3tay3go5jqyhb5v6inpsa');
  });

  it('private variable declaration hash', () => {
    const vector = goldenVectors.private_var;
    assert.equal(canonicalJson(vector.private_var_object), vector.canonical);
    assert.equal(hashPrivateVar(vector.private_var_object), vector.sha256_hex);
    // Key order of the entry does not matter: it is canonicalised.
    const { nonce, value } = vector.private_var_object;
    assert.equal(hashPrivateVar({ value, nonce }), vector.sha256_hex);
  });

  it('CODIUS_SECRET is the HMAC of the host secret over the hash', () => {
    const vector = goldenVectors.codius_secret_hmac;
    const secret = Buffer.from(vector.secret_file_contents_base64, 'base64');
    assert.equal(podSecret(secret, vector.manifest_hash), vector.hmac_sha256_hex);
    assert.equal(
      podSecret(secret, 'sngmrlrxfjf24y3xkubkhgsk7rhynyodwynhbmlxfkjlw3eb4zlq'),
      '453395c83b20d1218d2de8d1c26f0019478d2a3859e470fec275340f90276ec1',
    );
  });
});

/** mulberry32: a small seeded PRNG, so every run checks the same cases and a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Every range canonical-json 0.0.4 escapes, plus characters it must leave alone.
const RANGES: Array<[number, number]> = [
  [0x20, 0x7e],
  [0x00, 0x1f],
  [0x7f, 0x9f],
  [0xad, 0xad],
  [0x600, 0x604],
  [0x70f, 0x70f],
  [0x17b4, 0x17b5],
  [0x200c, 0x200f],
  [0x2028, 0x202f],
  [0x2060, 0x206f],
  [0xfeff, 0xfeff],
  [0xfff0, 0xffff],
  [0xa0, 0x5ff],
  [0x4e00, 0x4e20],
  [0xd800, 0xdfff], // lone surrogates
];
const SPECIAL = ['"', '\\', '/', '$', '\u2028', '\u{1F600}', '\u{10FFFF}', 'é', 'A', 'a', 'Z', '_'];

function randomString(random: () => number, maxLength: number): string {
  const length = Math.floor(random() * (maxLength + 1));
  let text = '';
  for (let i = 0; i < length; i++) {
    const pick = random();
    if (pick < 0.25) {
      text += SPECIAL[Math.floor(random() * SPECIAL.length)] ?? '';
    } else if (pick < 0.3) {
      text += String.fromCodePoint(0x10000 + Math.floor(random() * 0xfffff)); // astral pair
    } else {
      const [lo, hi] = RANGES[Math.floor(random() * RANGES.length)] ?? [0x61, 0x7a];
      text += String.fromCharCode(lo + Math.floor(random() * (hi - lo + 1)));
    }
  }
  return text;
}

/** Builds an object whose keys are inserted in a random order. */
function shuffled(random: () => number, entries: Array<[string, unknown]>): Record<string, unknown> {
  const copy = [...entries];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as [string, unknown], copy[i] as [string, unknown]];
  }
  return Object.fromEntries(copy);
}

function randomManifest(random: () => number): Manifest {
  const s = (max = 12): string => randomString(random, max);
  const containers = Array.from({ length: 1 + Math.floor(random() * 3) }, () => {
    const env = Array.from({ length: Math.floor(random() * 4) }, (): [string, unknown] => [s(8), s()]);
    const entries: Array<[string, unknown]> = [
      ['id', s()],
      ['image', `${s(6)}@sha256:${'0123456789abcdef'.repeat(4)}`],
    ];
    if (random() < 0.5)
      entries.push(['command', Array.from({ length: Math.floor(random() * 3) }, () => s())]);
    if (random() < 0.3) entries.push(['workdir', s()]);
    if (random() < 0.7) entries.push(['environment', shuffled(random, env)]);
    return shuffled(random, entries);
  });
  const entries: Array<[string, unknown]> = [
    ['name', s(20)],
    ['version', s(6)],
    ['containers', containers],
  ];
  if (random() < 0.5) entries.push(['port', String(1 + Math.floor(random() * 65535))]);
  if (random() < 0.5) entries.push(['machine', 'small']);
  if (random() < 0.3) entries.push(['debug', random() < 0.5]);
  if (random() < 0.5) {
    const vars = Array.from({ length: 1 + Math.floor(random() * 3) }, (): [string, unknown] => [
      s(8),
      random() < 0.5
        ? { value: s() }
        : shuffled(random, [
            ['value', s()],
            ['encoding', 'private:sha256'],
          ]),
    ]);
    entries.push(['vars', shuffled(random, vars)]);
  }
  return shuffled(random, entries) as unknown as Manifest;
}

describe('manifest hashing: property test against codius-manifest@2.2.3', () => {
  const CASES = 5000;
  const SEED = 0xc0d105;

  it(`${CASES} random manifests hash exactly as codius-manifest's hashManifest (seed ${SEED})`, () => {
    const random = prng(SEED);
    for (let i = 0; i < CASES; i++) {
      const manifest = randomManifest(random);
      const expected = codiusManifest.hashManifest(manifest);
      const actual = hashManifest(manifest);
      if (actual !== expected) {
        assert.fail(`case ${i} differs: ${JSON.stringify(manifest)}\n ours ${actual}\n theirs ${expected}`);
      }
    }
  });

  it('the generator really covers the escape set, astral characters and lone surrogates', () => {
    const random = prng(SEED);
    const text = Array.from({ length: 300 }, () => canonicalJson(randomManifest(random))).join('');
    for (const escaped of ['\\u007f', '\\u009f', '\\u00ad', '\\u2028', '\\ufeff', '\\u0000', '\\"', '\\\\']) {
      assert.ok(text.includes(escaped), `no ${escaped} in generated input`);
    }
    assert.match(text, /[\ud800-\udbff][\udc00-\udfff]/, 'astral pairs');
    assert.match(text, /(?:[^\ud800-\udbff]|^)[\udc00-\udfff]/, 'lone low surrogates');
  });
});
