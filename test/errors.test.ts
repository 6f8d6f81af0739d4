/** messageOf: the text every error message quotes of a cause, whatever was thrown. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { messageOf } from '../src/errors.js';

test('messageOf: an Error gives its message, anything else its own text (a cast to Error gave undefined)', () => {
  assert.equal(messageOf(new TypeError('bad type')), 'bad type');
  assert.equal(messageOf('EACCES as a string'), 'EACCES as a string');
  assert.equal(messageOf(42), '42');
  assert.equal(messageOf(undefined), 'undefined');
});
