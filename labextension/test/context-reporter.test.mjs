// Unit tests of labextension/src/context/reporter.ts (run on the compiled lib/ with `jlpm test`): a burst of
// changes makes one report, continuous changes one per max wait, an unchanged state none; a heartbeat keeps the
// focus time; turning sharing off withdraws the report after any report in flight, and sends nothing more.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';

const { ContextReporter } = await import('../../lib/context/reporter.js');

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

/** A context API that records the calls in order; `delay` ms per request. */
class FakeClient {
  constructor(delay = 0) {
    this.calls = [];
    this.delay = delay;
    this.fail = false;
  }
  async report(report) {
    await sleep(this.delay);
    if (this.fail) {
      throw new Error('server down');
    }
    this.calls.push({ kind: 'report', ...report });
  }
  async forget(tab, reason, keepalive = false) {
    await sleep(this.delay);
    this.calls.push({ kind: 'forget', tab, reason, keepalive });
  }
  get reports() {
    return this.calls.filter(c => c.kind === 'report');
  }
}

const state = (cell = 0, extra = {}) => ({
  path: 'a.ipynb',
  cell_index: cell,
  cell_id: `c${cell}`,
  selected_cells: [{ index: cell, id: `c${cell}` }],
  open_notebooks: ['a.ipynb'],
  ...extra
});

const reporters = [];
function makeReporter(client, snapshot, options = {}) {
  const reporter = new ContextReporter({
    client,
    snapshot,
    tab: 'tab-1',
    debounceMs: 20,
    maxWaitMs: 100,
    heartbeatMs: 60_000,
    ...options
  });
  reporters.push(reporter);
  return reporter;
}
afterEach(() => reporters.splice(0).forEach(r => r.dispose()));

test('nothing is sent before the setting is known, then the state at once as a focus change', async () => {
  const client = new FakeClient();
  const reporter = makeReporter(client, () => state(1));
  reporter.changed();
  await sleep(60);
  assert.equal(client.calls.length, 0);

  reporter.enabled = true;
  await sleep(60);
  await reporter.flushed();
  assert.equal(client.reports.length, 1);
  assert.equal(client.reports[0].cell_index, 1);
  assert.equal(client.reports[0].heartbeat, false);
  assert.equal(client.reports[0].tab, 'tab-1');
});

test('a burst of changes makes one report, and a change back to what was sent none', async () => {
  const client = new FakeClient();
  let cell = 0;
  const reporter = makeReporter(client, () => state(cell));
  reporter.enabled = true;
  await sleep(60);
  for (cell = 1; cell <= 5; cell++) {
    reporter.changed();
    await sleep(2);
  }
  cell = 5;
  await sleep(60);
  reporter.changed(); // nothing moved since
  await sleep(60);
  await reporter.flushed();
  assert.deepEqual(
    client.reports.map(r => r.cell_index),
    [0, 5]
  );
});

test('continuous changes (typing) are reported once per max wait, not never', async () => {
  const client = new FakeClient();
  let column = 0;
  const reporter = makeReporter(client, () =>
    state(0, { text_selection: { start: { line: 0, column }, end: { line: 0, column } } })
  );
  reporter.enabled = true;
  await sleep(60);
  const until = Date.now() + 350;
  while (Date.now() < until) {
    column++;
    reporter.changed();
    await sleep(10);
  }
  await sleep(60);
  await reporter.flushed();
  const during = client.reports.length - 1;
  assert.ok(during >= 2 && during <= 6, `${during} reports for 350 ms of typing`);
});

test('a change that is not a move of the focus (a kernel started) is sent as a heartbeat', async () => {
  const client = new FakeClient();
  let kernel = null;
  const reporter = makeReporter(client, () => state(0, { kernel_id: kernel }));
  reporter.enabled = true;
  await sleep(60);
  kernel = 'k-1';
  reporter.changed();
  await sleep(60);
  await reporter.flushed();
  assert.deepEqual(
    client.reports.map(r => [r.kernel_id, r.heartbeat]),
    [
      [null, false],
      ['k-1', true]
    ]
  );
});

test('heartbeats repeat the state while the page is open; focusing the tab again is a focus change', async () => {
  const client = new FakeClient();
  const reporter = makeReporter(client, () => state(2), { heartbeatMs: 40 });
  reporter.enabled = true;
  await sleep(110);
  reporter.focused();
  await sleep(30);
  await reporter.flushed();
  const kinds = client.reports.map(r => r.heartbeat);
  assert.equal(kinds[0], false);
  assert.ok(kinds.slice(1, -1).length >= 1 && kinds.slice(1, -1).every(h => h === true), String(kinds));
  assert.equal(kinds.at(-1), false);
});

test('turning sharing off withdraws the report after the one in flight, and sends nothing more', async () => {
  const client = new FakeClient(30);
  let cell = 0;
  const reporter = makeReporter(client, () => state(cell), { heartbeatMs: 50 });
  reporter.enabled = true;
  await sleep(30); // the first report is on its way
  reporter.enabled = false;
  cell = 3;
  reporter.changed();
  reporter.focused();
  await sleep(200); // no heartbeat either
  await reporter.flushed();
  assert.deepEqual(
    client.calls.map(c => c.kind + (c.reason ? `:${c.reason}` : '')),
    ['report', 'forget:off']
  );
});

test('closing the page withdraws the report with a request that outlives it', async () => {
  const client = new FakeClient();
  const reporter = makeReporter(client, () => state(0));
  reporter.enabled = true;
  await sleep(60);
  reporter.dispose();
  await sleep(10);
  assert.deepEqual(client.calls.at(-1), { kind: 'forget', tab: 'tab-1', reason: 'closed', keepalive: true });
});

test('after a failed report the same state is sent again', async () => {
  const client = new FakeClient();
  const reporter = makeReporter(client, () => state(1));
  client.fail = true;
  reporter.enabled = true;
  await sleep(60);
  await reporter.flushed();
  client.fail = false;
  reporter.changed();
  await sleep(60);
  await reporter.flushed();
  assert.equal(client.reports.length, 1);
  assert.equal(client.reports[0].cell_index, 1);
});
