import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCodiusError } from '../../src/domain/errors.js';
import { createStartCooldown } from '../../src/pods/start-cooldown.js';

describe('start cool-down', () => {
  it('starts after 3 failures within an hour and doubles with each further one', () => {
    let clock = 0;
    const cooldown = createStartCooldown({ now: () => clock });
    cooldown.failed('h');
    clock += 1_000;
    cooldown.failed('h');
    assert.equal(cooldown.secondsLeft('h'), 0);
    cooldown.check('h');
    cooldown.failed('h');
    assert.equal(cooldown.secondsLeft('h'), 300);
    assert.throws(
      () => cooldown.check('h'),
      (error: unknown) =>
        isCodiusError(error, 'start_cooling_down') && error.details.retryAfterSeconds === 300,
    );
    clock += 300_000;
    assert.equal(cooldown.secondsLeft('h'), 0, 'the wait is over');
    cooldown.failed('h');
    assert.equal(cooldown.secondsLeft('h'), 600, 'doubled');
    clock += 600_000;
    cooldown.failed('h');
    assert.equal(cooldown.secondsLeft('h'), 1200);
    cooldown.succeeded('h');
    assert.equal(cooldown.secondsLeft('h'), 0, 'a start that works clears the history');
  });

  it('forgets failures older than the window', () => {
    let clock = 0;
    const cooldown = createStartCooldown({ now: () => clock });
    cooldown.failed('h');
    cooldown.failed('h');
    clock += 3_600_000;
    cooldown.failed('h');
    assert.equal(cooldown.secondsLeft('h'), 0);
    assert.equal(cooldown.secondsLeft('other'), 0);
  });
});
