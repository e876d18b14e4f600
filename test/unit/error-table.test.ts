import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CodiusError, codiusError, type ErrorCode } from '../../src/domain/errors.js';
import { HTTP_ERRORS, httpAnswerOf, toBoom } from '../../src/http/error-table.js';

const kept = { amount: 2_283_106n, assetCode: 'XRP', assetScale: 9 };
const hash = 'a'.repeat(52);

describe('error table', () => {
  it('gives every code a client or server error status', () => {
    const codes = Object.keys(HTTP_ERRORS) as ErrorCode[];
    assert.ok(codes.length >= 25);
    for (const code of codes) {
      const rule = HTTP_ERRORS[code] as (details: unknown) => { status: number; message: string };
      const { status, message } = rule({
        hash,
        image: 'i',
        reason: 'r',
        maxSeconds: 1,
        got: '"x"',
        problem: null,
        limit: 1,
        offers: [{ headers: { Pay: 'p' } }],
        variable: '$A',
        varsJson: '{}',
        declaredJson: '{}',
        publicHash: 'p',
        hashedValue: 'h',
        name: 'CODIUS_X',
      });
      assert.ok(status >= 400 && status < 600, code);
      assert.ok(message.length > 0, code);
    }
  });

  it('says what of the money was kept as credit, in the texts clients already know', () => {
    assert.equal(
      httpAnswerOf(new CodiusError('pod_not_found', { hash, keptCredit: kept })).message,
      `no pod found with id. id=${hash} (it expired during payment; 2283106 (XRP, scale 9) is kept as credit for this manifest)`,
    );
    assert.equal(
      httpAnswerOf(new CodiusError('pod_not_found', { hash })).message,
      `no pod found with id. id=${hash}`,
    );
    assert.equal(
      httpAnswerOf(new CodiusError('pod_start_failed', { hash, keptCredit: kept })).message,
      `pod could not be started. manifestHash=${hash}. The 2283106 (XRP, scale 9) paid is kept as credit for this manifest and used by its next upload.`,
    );
    assert.equal(
      httpAnswerOf(new CodiusError('image_unavailable', { hash, image: 'img', reason: 'manifest unknown' }))
        .message,
      'image img is not available: manifest unknown.',
    );
  });

  it('carries headers and extra fields into the Boom answer', () => {
    const challenge = toBoom(
      new CodiusError('payment_required', { offers: [{ headers: { Pay: 'interledger-stream a b' } }] }),
    );
    assert.equal(challenge.output.statusCode, 402);
    assert.equal(challenge.output.headers.Pay, 'interledger-stream a b');
    assert.deepEqual(challenge.output.payload, {
      statusCode: 402,
      error: 'Payment Required',
      message: 'Payment Required',
    });
    const busy = toBoom(new CodiusError('too_many_pending_payments', { limit: 3 }));
    assert.equal(busy.output.headers['Retry-After'], '5');
    const invalid = toBoom(
      new CodiusError('invalid_payload', {
        validation: { source: 'payload', keys: ['manifest'], reason: 'required' },
      }),
    );
    assert.deepEqual(invalid.output.payload, {
      statusCode: 400,
      error: 'Bad Request',
      message: 'Invalid request payload input',
      validation: { source: 'payload', keys: ['manifest'], reason: 'required' },
    });
  });

  it('keeps the cause and adds facts without losing the code', () => {
    const cause = new Error('runtime said no');
    const error = new CodiusError('pod_start_failed', { hash }, { cause });
    const more = error.with({ keptCredit: kept });
    assert.equal(more.code, 'pod_start_failed');
    assert.equal(more.cause, cause);
    assert.equal(more.details.keptCredit, kept);
    assert.match(more.message, /^pod_start_failed \{"hash":"a+","keptCredit":\{"amount":"2283106"/);
    assert.equal(codiusError('runtime_not_ready').message, 'runtime_not_ready');
  });
});
