// Unit tests of labextension/src/jobs/model.ts (run on the compiled lib/ with `jlpm test`): the jobs list
// follows the server's events, polls only without them, and runs no timer while no job is active.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';

// The little of a browser that @jupyterlab/services needs to be imported.
globalThis.window = globalThis;
globalThis.WebSocket = class {};
globalThis.document = {
  body: { dataset: {} },
  getElementById: () => null,
  addEventListener() {},
  removeEventListener() {},
  visibilityState: 'visible'
};

const { Stream } = await import('@lumino/signaling');
const { JobsModel } = await import('../../lib/jobs/model.js');

const SCHEMA = 'https://events.jupyter.org/jupyter_mcp_ext/job/v1';
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

function job(id, status, extra = {}) {
  return {
    job_id: id,
    notebook_path: `${id}.ipynb`,
    output_path: `${id}_output.ipynb`,
    status,
    created_at: Number(id.replace(/\D/g, '')) || 1,
    kernel_name: 'python3',
    timeout_seconds: 300,
    progress: { cells_total: 4, cells_executed: 0, current_cell: null },
    ...extra
  };
}

/** A jobs API that answers from `jobs` and counts the calls. */
class FakeClient {
  constructor(jobs = []) {
    this.jobs = new Map(jobs.map(j => [j.job_id, j]));
    this.calls = { list: 0, get: 0, create: 0 };
  }
  async list() {
    this.calls.list++;
    return { jobs: [...this.jobs.values()], counts: {} };
  }
  async get(id) {
    this.calls.get++;
    const found = this.jobs.get(id);
    if (!found) {
      throw new Error(`no job ${id}`);
    }
    return structuredClone(found);
  }
  async create(request) {
    this.calls.create++;
    const created = job('job_9', 'running', { notebook_path: request.notebook_path });
    this.jobs.set(created.job_id, created);
    return structuredClone(created);
  }
}

class FakeEvents {
  constructor() {
    this.isDisposed = false;
    this.stream = new Stream(this);
  }
  emit(data) {
    this.stream.emit({ schema_id: SCHEMA, ...data });
  }
}

const models = [];
function makeModel(options) {
  const model = new JobsModel({ recordInterval: 20, pollInterval: 25, resyncInterval: 60_000, eventTimeout: 60, ...options });
  models.push(model);
  return model;
}
afterEach(() => models.splice(0).forEach(m => m.dispose()));

test('an event updates its row at once and the full record follows, without polling the list', async () => {
  const client = new FakeClient([job('job_1', 'running')]);
  const events = new FakeEvents();
  const model = makeModel({ client, events });
  await model.refresh();

  client.jobs.get('job_1').progress = {
    cells_total: 4,
    cells_executed: 2,
    current_cell: { index: 3, source: 'df = load()' }
  };
  events.emit({ action: 'progress', job_id: 'job_1', status: 'running', cells_total: 4, cells_executed: 2, cell_running: true, current_cell_index: 3 });
  const immediate = model.get('job_1').progress;
  await sleep(60);

  assert.equal(immediate.cells_executed, 2);
  assert.equal(immediate.current_cell.index, 3);
  assert.equal(model.get('job_1').progress.current_cell.source, 'df = load()');
  assert.equal(client.calls.list, 1);
});

test('records are fetched at most once per interval however many events arrive', async () => {
  const client = new FakeClient([job('job_1', 'running')]);
  const events = new FakeEvents();
  const model = makeModel({ client, events, recordInterval: 200 });
  await model.refresh();

  for (let i = 0; i < 50; i++) {
    events.emit({ action: 'progress', job_id: 'job_1', status: 'running', cells_executed: i % 4 });
  }
  await sleep(100);
  const early = client.calls.get;
  await sleep(250);

  assert.ok(early <= 1, `fetched ${early} times in the first interval`);
  assert.ok(client.calls.get <= 2, `fetched ${client.calls.get} times for 50 events`);
});

test('a job first seen by an event appears, and its end is announced once with its final record', async () => {
  const client = new FakeClient([]);
  const events = new FakeEvents();
  const model = makeModel({ client, events });
  await model.refresh();
  const finished = [];
  model.jobFinished.connect((_, j) => finished.push(j));

  client.jobs.set('job_2', job('job_2', 'running'));
  events.emit({ action: 'created', job_id: 'job_2', status: 'running' });
  await sleep(10);
  client.jobs.set('job_2', job('job_2', 'failed', { error: { type: 'ZeroDivisionError', message: 'x', reason: 'cell_error' } }));
  events.emit({ action: 'finished', job_id: 'job_2', status: 'failed' });
  await sleep(40);
  await model.refresh();

  assert.deepEqual(model.jobs.map(j => j.job_id), ['job_2']);
  assert.equal(finished.length, 1);
  assert.equal(finished[0].status, 'failed');
  assert.equal(finished[0].error.type, 'ZeroDivisionError');
});

test('a deleted event removes the row', async () => {
  const client = new FakeClient([job('job_1', 'completed'), job('job_2', 'failed')]);
  const events = new FakeEvents();
  const model = makeModel({ client, events });
  await model.refresh();

  events.emit({ action: 'deleted', job_id: 'job_1', status: 'completed' });

  assert.deepEqual(model.jobs.map(j => j.job_id), ['job_2']);
});

test('no timer runs while no job is queued or running', async () => {
  const client = new FakeClient([job('job_1', 'completed'), job('job_2', 'cancelled')]);
  const model = makeModel({ client, events: null });
  await model.refresh();
  await sleep(120);

  assert.equal(client.calls.list, 1);
  assert.equal(model._pollTimer, 0);
  assert.equal(model._recordTimers.size, 0);
});

test('without an event stream the list is polled while a job runs, and no longer once it ended', async () => {
  const client = new FakeClient([job('job_1', 'running')]);
  const model = makeModel({ client, events: null });
  const finished = [];
  model.jobFinished.connect((_, j) => finished.push(j.job_id));
  await model.refresh();
  await sleep(90);
  const whileRunning = client.calls.list;
  client.jobs.set('job_1', job('job_1', 'completed'));
  await sleep(60);
  const atEnd = client.calls.list;
  await sleep(100);

  assert.ok(whileRunning >= 3, `polled ${whileRunning} times`);
  assert.equal(client.calls.list, atEnd);
  assert.deepEqual(finished, ['job_1']);
  assert.equal(model.eventsAvailable, false);
});

test('a job this model started that brings no event switches to polling until events come back', async () => {
  const client = new FakeClient([]);
  const events = new FakeEvents();
  const model = makeModel({ client, events });
  await model.refresh();

  await model.create({ notebook_path: 'report.ipynb' });
  await sleep(40);
  const beforeTimeout = client.calls.list;
  await sleep(150);
  const polled = client.calls.list;
  events.emit({ action: 'progress', job_id: 'job_9', status: 'running', cells_executed: 1 });

  assert.equal(beforeTimeout, 1);
  assert.ok(polled >= 3, `polled ${polled} times after the missing event`);
  assert.equal(model.eventsAvailable, true);
});

test('an older answer never makes a finished job active again', async () => {
  const client = new FakeClient([job('job_1', 'completed')]);
  const events = new FakeEvents();
  const model = makeModel({ client, events });
  await model.refresh();

  client.jobs.set('job_1', job('job_1', 'running'));
  await model.refresh();

  assert.equal(model.get('job_1').status, 'completed');
});
