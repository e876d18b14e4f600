import assert from 'node:assert/strict';
import { CodiusError } from '../../src/domain/errors.js';
import { httpAnswerOf, type HttpAnswer } from '../../src/http/error-table.js';

/** How a client would be answered for `error`, which must be a CodiusError. */
export function answerOf(error: unknown): HttpAnswer {
  assert.ok(error instanceof CodiusError, `expected a CodiusError, got ${String(error)}`);
  return httpAnswerOf(error as CodiusError);
}
