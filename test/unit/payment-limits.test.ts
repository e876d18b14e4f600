import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { isCodiusError } from '../../src/domain/errors.js';
import { parseAddressList } from '../../src/net/address-list.js';
import { clientKey, createClientResolver } from '../../src/net/client-address.js';
import { createPaymentReceiver } from '../../src/payments/receiver.js';
import { answerOf } from '../helpers/errors.js';
import { capturingLogger } from '../helpers/logs.js';

/** The receiver's view of an ILP link: credentials for any tag, no connections. */
const link = {
  credentialsFor: () => ({ destinationAccount: 'g.host.receiver', sharedSecret: Buffer.alloc(32) }),
  onConnection: () => undefined,
  guardFulfillment: () => undefined,
};

describe('payment challenges per client', () => {
  it('a flood of unpaid challenges from one client leaves room for everyone else', () => {
    const receiver = createPaymentReceiver({
      link,
      packets: { record: () => Promise.resolve() },
      logger: capturingLogger().logger,
      maxPendingPerClient: 16,
    });
    let refused = 0;
    for (let i = 0; i < 10_000; i += 1) {
      try {
        receiver.challenge(randomBytes(16), '198.51.100.7');
      } catch (error) {
        assert.ok(isCodiusError(error, 'too_many_client_payments'));
        refused += 1;
      }
    }
    assert.equal(refused, 10_000 - 16);
    assert.equal(receiver.stats().pending, 16);
    const refusal = (() => {
      try {
        receiver.challenge(randomBytes(16), '198.51.100.7');
      } catch (error) {
        return error;
      }
      return null;
    })();
    const answer = answerOf(refusal);
    assert.equal(answer.status, 429);
    assert.equal(answer.headers?.['Retry-After'], '120');
    // Another client is served, and the same token of the flooding client may be challenged again.
    assert.match(
      receiver.challenge(randomBytes(16), '203.0.113.9'),
      /^interledger-stream g\.host\.receiver /,
    );
    receiver.close();
  });

  it('keeps the global bound for all clients together', () => {
    const receiver = createPaymentReceiver({
      link,
      packets: { record: () => Promise.resolve() },
      logger: capturingLogger().logger,
      maxPending: 3,
    });
    for (let i = 0; i < 3; i += 1) receiver.challenge(randomBytes(16), `198.51.100.${i}`);
    assert.throws(
      () => receiver.challenge(randomBytes(16), '198.51.100.200'),
      (error: unknown) => isCodiusError(error, 'too_many_pending_payments'),
    );
    receiver.close();
  });
});

describe('client address', () => {
  const resolve = createClientResolver(parseAddressList('127.0.0.1, ::1, 10.0.0.0/8') ?? []);

  it('believes X-Forwarded-For only from a trusted proxy, nearest untrusted hop first', () => {
    assert.equal(resolve('127.0.0.1', '198.51.100.7'), '198.51.100.7');
    assert.equal(resolve('127.0.0.1', '1.2.3.4, 198.51.100.7, 10.1.1.1'), '198.51.100.7');
    assert.equal(resolve('::ffff:127.0.0.1', ['198.51.100.8']), '198.51.100.8');
    assert.equal(
      resolve('203.0.113.5', '198.51.100.7'),
      '203.0.113.5',
      'an untrusted peer cannot pick its name',
    );
    assert.equal(resolve('127.0.0.1', 'garbage'), '127.0.0.1');
    assert.equal(resolve(undefined, undefined), 'unknown');
  });

  it('groups IPv6 clients by /64', () => {
    assert.equal(clientKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(clientKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
    assert.equal(clientKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(resolve('2001:db8:5:6::1', undefined), '2001:db8:5:6::/64');
    assert.equal(clientKey('198.51.100.7'), '198.51.100.7');
  });
});
