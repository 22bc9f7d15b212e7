// Unit tests of labextension/src/jobs/format.ts (run on the compiled lib/ with `jlpm test`).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  baseName,
  formatDuration,
  formatValue,
  initialText,
  parseValue,
  valueKind
} from '../../lib/jobs/format.js';

test('durations read as a person says them', () => {
  assert.equal(formatDuration(0.42), '0.4 s');
  assert.equal(formatDuration(12.7), '12 s');
  assert.equal(formatDuration(185), '3 min 05 s');
  assert.equal(formatDuration(7441), '2 h 04 min');
  assert.equal(formatDuration(null), '');
  assert.equal(formatDuration(-3), '0.0 s');
});

test('a parameter field kind comes from the type Papermill inferred, else from the default', () => {
  assert.equal(valueKind('int', 3, true), 'int');
  assert.equal(valueKind('List[str]', ['a'], true), 'json');
  assert.equal(valueKind('Optional[int]', null, true), 'any');
  assert.equal(valueKind(null, 'Q1', true), 'str');
  assert.equal(valueKind(null, 0.5, true), 'float');
  assert.equal(valueKind(null, 10, true), 'int');
  assert.equal(valueKind(null, false, true), 'bool');
  assert.equal(valueKind(null, { a: 1 }, true), 'json');
  assert.equal(valueKind(null, null, true), 'any');
  assert.equal(valueKind(null, null, false), 'any');
});

test('fields start with the default, or the source of an expression', () => {
  assert.equal(initialText('str', 'Q1', true, "'Q1'"), 'Q1');
  assert.equal(initialText('int', 10, true, '10'), '10');
  assert.equal(initialText('bool', false, true, 'False'), 'false');
  assert.equal(initialText('json', [1, 2], true, '[1, 2]'), '[1,2]');
  assert.equal(initialText('any', null, true, 'None'), 'null');
  assert.equal(initialText('any', null, false, 'datetime.now()'), 'datetime.now()');
});

test('typed text is read as a value of the field kind, or refused with the kind it is not', () => {
  assert.deepEqual(parseValue('int', ' 42 '), { ok: true, value: 42 });
  assert.deepEqual(parseValue('int', '4.2'), { ok: false, error: 'int' });
  assert.deepEqual(parseValue('int', 'ten'), { ok: false, error: 'int' });
  assert.deepEqual(parseValue('float', '1e-3'), { ok: true, value: 0.001 });
  assert.deepEqual(parseValue('float', ''), { ok: false, error: 'float' });
  assert.deepEqual(parseValue('float', 'Infinity'), { ok: false, error: 'float' });
  assert.deepEqual(parseValue('bool', 'True'), { ok: true, value: true });
  assert.deepEqual(parseValue('bool', 'yes'), { ok: false, error: 'bool' });
  assert.deepEqual(parseValue('json', '{"a": [1]}'), { ok: true, value: { a: [1] } });
  assert.deepEqual(parseValue('json', '[1,'), { ok: false, error: 'json' });
  assert.deepEqual(parseValue('str', ' spaced '), { ok: true, value: ' spaced ' });
  // "any" (no type, a None default): JSON when it is JSON, else the text itself.
  assert.deepEqual(parseValue('any', '42'), { ok: true, value: 42 });
  assert.deepEqual(parseValue('any', 'null'), { ok: true, value: null });
  assert.deepEqual(parseValue('any', 'hello from Lab'), { ok: true, value: 'hello from Lab' });
});

test('parameter values and paths are shown short', () => {
  assert.equal(formatValue('Q1'), '"Q1"');
  assert.equal(formatValue([1, 2]), '[1,2]');
  assert.equal(formatValue('x'.repeat(50), 10), '"xxxxxxxx…');
  assert.equal(baseName('reports/2026/q1.ipynb'), 'q1.ipynb');
  assert.equal(baseName('q1.ipynb'), 'q1.ipynb');
});
