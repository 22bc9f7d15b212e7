// Unit tests of labextension/src/changes/review.ts (run on the compiled lib/ with `jlpm test`): which changes
// are still to review, how they group, what "revert all of this session since here" sends, how a change's cells
// pair up for the diff, and how times and outputs are said.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  cellDiffs,
  conflictCellNames,
  groupBySession,
  isPending,
  latestChangeByCell,
  outputKinds,
  outputPreview,
  pendingCount,
  sinceHere,
  timeAgo
} from '../../lib/changes/review.js';

const T0 = Date.parse('2026-03-02T10:00:00Z');

/** A change as the list API gives it, `minutes` after T0. */
function change(id, minutes, extra = {}) {
  return {
    id,
    path: 'analysis.ipynb',
    kind: 'edit',
    client: 'claude-code',
    session: 's1',
    user: null,
    tool: 'update_cell',
    time: new Date(T0 + minutes * 60_000).toISOString(),
    cells: [`cell-${id}`],
    summary: `change ${id}`,
    reverted: false,
    reverted_by: null,
    reverts: [],
    kept: false,
    ...extra
  };
}

test('only agent changes neither kept nor reverted are to review; reverts made in Lab never count', () => {
  const changes = [
    change('a', 1),
    change('b', 2, { kept: true }),
    change('c', 3, { reverted: true, reverted_by: 'r' }),
    change('r', 4, { client: 'JupyterLab', session: null, tool: 'revert', reverts: ['c'] }),
    change('d', 5, { kind: 'create', tool: 'create_notebook' })
  ];
  assert.deepEqual(changes.filter(isPending).map(c => c.id), ['a', 'd']);
  assert.equal(pendingCount(changes), 2);
  assert.equal(pendingCount([]), 0);
});

test('changes group by client and session, the group with the newest change first, each newest first', () => {
  const changes = [
    change('a1', 1),
    change('b1', 2, { client: 'codex', session: 'x' }),
    change('a2', 3),
    change('a3', 4, { session: 's2' }),
    change('n1', 0, { client: null, session: null })
  ];
  const groups = groupBySession(changes);
  assert.deepEqual(
    groups.map(g => [g.client, g.session, g.changes.map(c => c.id)]),
    [
      ['claude-code', 's2', ['a3']],
      ['claude-code', 's1', ['a2', 'a1']],
      ['codex', 'x', ['b1']],
      [null, null, ['n1']]
    ]
  );
});

test('"since here" sends the chosen change and the later ones of its session not yet reverted, newest first', () => {
  const changes = [
    change('a5', 5),
    change('b4', 4, { client: 'codex' }),
    change('a4', 4.5, { reverted: true, reverted_by: 'r1' }),
    change('r1', 4.6, { client: 'JupyterLab', session: null, tool: 'revert', reverts: ['a4'] }),
    change('a3', 3, { kept: true }),
    change('a2', 2),
    change('a1', 1)
  ];
  assert.deepEqual(sinceHere(changes, 'a2'), ['a5', 'a3', 'a2'], 'kept ones go too: later changes may build on them');
  assert.deepEqual(sinceHere(changes, 'a5'), ['a5']);
  assert.deepEqual(sinceHere(changes, 'b4'), ['b4']);
  assert.deepEqual(sinceHere(changes, 'missing'), []);
  // Equal times keep the server's order (newest first).
  const tied = [change('t2', 1), change('t1', 1)];
  assert.deepEqual(sinceHere(tied, 't1'), ['t2', 't1']);
  assert.deepEqual(sinceHere(tied, 't2'), ['t2']);
});

test('times are said as a person says them', () => {
  const at = minutes => T0 + minutes * 60_000;
  const iso = new Date(T0).toISOString();
  assert.equal(timeAgo(iso, at(0.2)), 'just now');
  assert.equal(timeAgo(iso, at(1)), '1 min ago');
  assert.equal(timeAgo(iso, at(2.2)), '2 min ago');
  assert.equal(timeAgo(iso, at(59)), '59 min ago');
  assert.equal(timeAgo(iso, at(61)), '1 h ago');
  assert.equal(timeAgo(iso, at(60 * 25)), 'yesterday');
  assert.equal(timeAgo(iso, at(60 * 24 * 3)), '3 days ago');
  assert.equal(timeAgo(iso, at(-5)), 'just now', 'a clock a little behind the server');
  assert.equal(timeAgo('not a time', at(1)), '');
});

test('a cell is marked with the newest pending change that touched it', () => {
  const changes = [
    change('old', 1, { cells: ['c1', 'c2'] }),
    change('new', 2, { cells: ['c1'] }),
    change('kept', 3, { cells: ['c3'], kept: true }),
    change('noid', 4, { cells: ['#5'] })
  ];
  const byCell = latestChangeByCell(changes);
  assert.deepEqual([...byCell].map(([cell, c]) => [cell, c.id]).sort(), [
    ['c1', 'new'],
    ['c2', 'old']
  ]);
});

test('a change pairs its cells before and after: updated, added and removed, in notebook order', () => {
  const code = (source, extra = {}) => ({ cell_type: 'code', source, metadata: {}, outputs: [], execution_count: null, ...extra });
  const diffs = cellDiffs({
    before: [
      { id: 'u', index: 0, cell: code('x = 1'), prev_ids: [], next_ids: [] },
      { id: 'r', index: 1, cell: code(['gone', '\n']), prev_ids: [], next_ids: [] },
      { id: 'o', index: 2, cell: code('print(1)'), prev_ids: [], next_ids: [] }
    ],
    after: [
      { id: 'u', index: 0, cell: code('x = 10'), prev_ids: [], next_ids: [] },
      { id: 'a', index: 1, cell: { cell_type: 'markdown', source: '# new', metadata: {} }, prev_ids: [], next_ids: [] },
      {
        id: 'o',
        index: 2,
        cell: code('print(1)', { outputs: [{ output_type: 'stream', name: 'stdout', text: '1\n' }], execution_count: 1 }),
        prev_ids: [],
        next_ids: []
      }
    ]
  });
  assert.deepEqual(
    diffs.map(d => [d.key, d.kind, d.index, d.cellType, d.sourceChanged, d.outputsChanged]),
    [
      ['u', 'updated', 0, 'code', true, false],
      ['r', 'removed', 1, 'code', true, false],
      ['a', 'added', 1, 'markdown', true, false],
      ['o', 'updated', 2, 'code', false, true]
    ]
  );
  // Cells without an id are keyed by index, as the server keys them.
  const noIds = cellDiffs({ before: [], after: [{ id: null, index: 3, cell: code('y'), prev_ids: [], next_ids: [] }] });
  assert.equal(noIds[0].key, '#3');
});

test('outputs are said in words with their first lines', () => {
  const outputs = [
    { output_type: 'stream', name: 'stdout', text: ['hello\n', 'world\n'] },
    { output_type: 'execute_result', data: { 'text/plain': '42', 'text/html': '<b>42</b>' } },
    { output_type: 'display_data', data: { 'image/png': 'iVBOR' } },
    { output_type: 'error', ename: 'ValueError', evalue: 'bad', traceback: [] }
  ];
  assert.equal(outputKinds(outputs), 'stdout, execute_result, display_data, error');
  assert.equal(outputKinds([outputs[2], outputs[2]]), 'display_data ×2');
  assert.equal(outputKinds([]), 'no output');
  assert.equal(outputPreview(outputs), 'hello\nworld\n42');
  assert.equal(outputPreview(outputs.slice(2), 5), '[image/png]\nValueError: bad');
  assert.equal(outputPreview([{ output_type: 'stream', name: 'stdout', text: 'x'.repeat(200) }], 3, 10), 'xxxxxxxxx…');
});

test('the cells of a refused revert are named by their place in the open notebook, else by id', () => {
  const indexOf = id => ({ c1: 3 })[id] ?? -1;
  assert.deepEqual(conflictCellNames(['c1', 'c9', '#2'], indexOf), ['cell 3', 'c9', 'cell 2']);
});
