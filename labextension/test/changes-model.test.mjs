// Unit tests of labextension/src/changes/model.ts (run on the compiled lib/ with `jlpm test`): the changes of
// watched notebooks follow the server's events (one reload for a burst), details are fetched once per revision,
// and the model polls only when no event stream works.
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
const { ChangesModel } = await import('../../lib/changes/model.js');

const SCHEMA = 'https://events.jupyter.org/jupyter_mcp_ext/change/v1';
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

function change(id, path = 'a.ipynb', extra = {}) {
  return {
    id,
    path,
    kind: 'edit',
    client: 'claude-code',
    session: 's1',
    user: null,
    tool: 'update_cell',
    time: '2026-03-02T10:00:00+00:00',
    cells: ['c1'],
    summary: 'updated cell 0 (source)',
    reverted: false,
    reverted_by: null,
    reverts: [],
    kept: false,
    ...extra
  };
}

/** A changes API that answers from `changes` and counts the calls. */
class FakeClient {
  constructor(changes = []) {
    this.changes = changes;
    this.calls = { list: [], get: 0, revert: 0, keep: 0 };
  }
  async list(path) {
    this.calls.list.push(path);
    return this.changes.filter(c => c.path === path).map(c => ({ ...c }));
  }
  async get(id) {
    this.calls.get++;
    return { ...this.changes.find(c => c.id === id), before: [], after: [], metadata_before: null, metadata_after: null };
  }
  async revert(id) {
    this.calls.revert++;
    return { reverted: [id], cells: [], changes: [] };
  }
  async keep(id) {
    this.calls.keep++;
    const kept = this.changes.find(c => c.id === id);
    kept.kept = true;
    return { ...kept };
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
  const model = new ChangesModel({ pollInterval: 25, eventTimeout: 60, coalesce: 20, ...options });
  models.push(model);
  return model;
}
afterEach(() => models.splice(0).forEach(m => m.dispose()));

test('a watched notebook is loaded once, and a burst of its events makes one reload; others are ignored', async () => {
  const client = new FakeClient([change('chg_1')]);
  const events = new FakeEvents();
  const model = makeModel({ client, events });
  const seen = [];
  model.changed.connect((_, path) => seen.push(path));
  const watch = model.watch('a.ipynb');
  await sleep(10);
  assert.deepEqual(model.changes('a.ipynb').map(c => c.id), ['chg_1']);

  client.changes.push(change('chg_2'));
  for (let i = 0; i < 20; i++) {
    events.emit({ action: 'recorded', id: 'chg_2', path: 'a.ipynb' });
  }
  events.emit({ action: 'recorded', id: 'chg_9', path: 'other.ipynb' });
  await sleep(60);

  assert.deepEqual(client.calls.list, ['a.ipynb', 'a.ipynb']);
  assert.deepEqual(model.changes('a.ipynb').map(c => c.id), ['chg_1', 'chg_2']);
  assert.ok(seen.every(path => path === 'a.ipynb'));
  watch.dispose();
  assert.equal(model.changes('a.ipynb'), undefined, 'forgotten once nobody watches');
});

test('a change’s detail is fetched once, and again after the record grew', async () => {
  const client = new FakeClient([change('chg_1')]);
  const events = new FakeEvents();
  const model = makeModel({ client, events });
  model.watch('a.ipynb');
  await model.detail('chg_1');
  await model.detail('chg_1');
  assert.equal(client.calls.get, 1);

  const revision = model.revision('chg_1');
  events.emit({ action: 'recorded', id: 'chg_1', path: 'a.ipynb' });
  await model.detail('chg_1');

  assert.equal(model.revision('chg_1'), revision + 1);
  assert.equal(client.calls.get, 2);
});

test('without an event stream watched notebooks are polled, and nothing once none is watched', async () => {
  const client = new FakeClient([change('chg_1')]);
  const model = makeModel({ client, events: null });
  const watch = model.watch('a.ipynb');
  await sleep(120);
  const polled = client.calls.list.length;
  watch.dispose();
  await sleep(80);

  assert.ok(polled >= 3, `polled ${polled} times`);
  assert.equal(client.calls.list.length, polled);
  assert.equal(model.eventsAvailable, false);
});

test('with events nothing is polled; an action that brings no event switches to polling until events come back', async () => {
  const client = new FakeClient([change('chg_1')]);
  const events = new FakeEvents();
  const model = makeModel({ client, events });
  model.watch('a.ipynb');
  await sleep(80);
  assert.equal(client.calls.list.length, 1, 'no polling while events work');

  await model.revert('a.ipynb', ['chg_1']);
  await sleep(30);
  const beforeTimeout = client.calls.list.length;
  await sleep(150);
  const polled = client.calls.list.length;
  events.emit({ action: 'reverted', id: 'chg_1', path: 'a.ipynb' });
  await sleep(60);
  const afterEvent = client.calls.list.length;
  await sleep(80);

  assert.equal(beforeTimeout, 2, 'the revert reloads the list once');
  assert.ok(polled >= beforeTimeout + 3, `polled ${polled - beforeTimeout} times after the missing event`);
  assert.equal(model.eventsAvailable, true);
  assert.equal(client.calls.list.length, afterEvent, 'no more polling once events arrive');
});

test('keep marks the change kept at once, and a revert of one or of several changes takes the matching route', async () => {
  const client = new FakeClient([change('chg_1'), change('chg_2')]);
  client.revertMany = async ids => {
    client.calls.revertMany = ids;
    return { reverted: ids, cells: [], changes: [] };
  };
  const events = new FakeEvents();
  const model = makeModel({ client, events });
  model.watch('a.ipynb');
  await sleep(10);

  const keeping = model.keep('a.ipynb', 'chg_1');
  await keeping;
  assert.equal(model.changes('a.ipynb').find(c => c.id === 'chg_1').kept, true);
  await model.revert('a.ipynb', ['chg_2', 'chg_1']);

  assert.equal(client.calls.keep, 1);
  assert.deepEqual(client.calls.revertMany, ['chg_2', 'chg_1']);
  assert.equal(client.calls.revert, 0);
});
