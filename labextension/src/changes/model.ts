/**
 * The agent changes of the notebooks Lab shows (open notebooks, review panels),
 * kept up to date by the server's change events, with REST polling only when the
 * event stream does not work.
 */
import { Event } from '@jupyterlab/services';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import {
  CHANGE_EVENT_SCHEMA_ID,
  ChangesClient,
  errorMessage,
  IChange,
  IChangeDetail,
  IChangeEvent,
  IRevertResult
} from './api';

/**
 * The client-side record of agent changes, per notebook path.
 *
 * Only watched paths (`watch`) are loaded and followed. Sources of changes:
 * 1. the change events pushed by the server (`serviceManager.events.stream`): an
 *    event of a watched notebook reloads its list (once for a burst of events);
 * 2. a load when a path starts being watched, and `refresh` by hand;
 * 3. polling every `pollInterval` ms, only while paths are watched and the event
 *    stream is unavailable (no event manager, or an action of this model got no
 *    event within `eventTimeout` ms).
 */
export class ChangesModel implements IDisposable {
  constructor(options: ChangesModel.IOptions) {
    this.client = options.client;
    this._events = options.events ?? null;
    this._pollInterval = options.pollInterval ?? 5000;
    this._eventTimeout = options.eventTimeout ?? 5000;
    this._coalesce = options.coalesce ?? 150;
    this._events?.stream.connect(this._onEvent, this);
  }

  readonly client: ChangesClient;

  /**
   * Emitted with a notebook's path after its changes, loading state or error changed.
   */
  get changed(): ISignal<this, string> {
    return this._changed;
  }

  /**
   * Whether change events are arriving (false: the model polls watched notebooks).
   */
  get eventsAvailable(): boolean {
    return this._events !== null && !this._events.isDisposed && !this._eventsLost;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Follow the changes of the notebook at `path` (an API path) until the returned
   * disposable is disposed; the first watcher of a path loads its list.
   */
  watch(path: string): IDisposable {
    const count = this._watchers.get(path) ?? 0;
    this._watchers.set(path, count + 1);
    if (!count) {
      void this.refresh(path);
    }
    this._schedulePoll();
    let disposed = false;
    return new DisposableDelegate(() => {
      if (disposed) {
        return;
      }
      disposed = true;
      const left = (this._watchers.get(path) ?? 1) - 1;
      if (left > 0) {
        this._watchers.set(path, left);
        return;
      }
      this._watchers.delete(path);
      for (const change of this._lists.get(path) ?? []) {
        this._details.delete(change.id);
        this._revisions.delete(change.id);
      }
      this._lists.delete(path);
      this._errors.delete(path);
      window.clearTimeout(this._pending.get(path));
      this._pending.delete(path);
      this._schedulePoll();
    });
  }

  /**
   * The changes of a watched notebook, newest first; undefined until loaded.
   */
  changes(path: string): IChange[] | undefined {
    return this._lists.get(path);
  }

  /**
   * Why the last load of a notebook's changes failed, or null.
   */
  error(path: string): string | null {
    return this._errors.get(path) ?? null;
  }

  /**
   * How many times the record `id` was seen to grow (a call writing cell after
   * cell): a diff made at another revision is out of date.
   */
  revision(id: string): number {
    return this._revisions.get(id) ?? 0;
  }

  /**
   * Load a notebook's changes from the server again.
   */
  async refresh(path: string): Promise<void> {
    const request = (this._requests.get(path) ?? 0) + 1;
    this._requests.set(path, request);
    let changes: IChange[] | null = null;
    let error: string | null = null;
    try {
      changes = await this.client.list(path);
    } catch (reason) {
      error = errorMessage(reason);
    }
    if (this._isDisposed || this._requests.get(path) !== request || !this._watchers.has(path)) {
      return;
    }
    if (changes) {
      const previous = new Map((this._lists.get(path) ?? []).map(c => [c.id, c]));
      for (const change of changes) {
        const before = previous.get(change.id);
        // A record that grew between two loads (events lost): its diff is out of date.
        if (before && (before.summary !== change.summary || before.cells.join() !== change.cells.join())) {
          this._grew(change.id);
        }
      }
      this._lists.set(path, changes);
      this._errors.delete(path);
    } else {
      this._errors.set(path, error);
      if (!this._lists.has(path)) {
        this._lists.set(path, []);
      }
    }
    this._changed.emit(path);
  }

  /**
   * A change with its cells before and after (fetched once per revision).
   */
  detail(id: string): Promise<IChangeDetail> {
    const revision = this.revision(id);
    const cached = this._details.get(id);
    if (cached && cached.revision === revision) {
      return cached.promise;
    }
    const promise = this.client.get(id);
    this._details.set(id, { revision, promise });
    promise.catch(() => {
      if (this._details.get(id)?.promise === promise) {
        this._details.delete(id);
      }
    });
    return promise;
  }

  /**
   * Revert the changes `ids` of the notebook at `path` (all or nothing); the list
   * is reloaded. Throws the server's refusal (`ChangeConflictError` for a 409
   * naming cells).
   */
  async revert(path: string, ids: string[]): Promise<IRevertResult> {
    const result =
      ids.length === 1 ? await this.client.revert(ids[0]) : await this.client.revertMany(ids);
    this._afterAction(path);
    return result;
  }

  /**
   * Take a change out of the review.
   */
  async keep(path: string, id: string): Promise<IChange> {
    const change = await this.client.keep(id);
    const list = this._lists.get(path);
    if (list) {
      this._lists.set(
        path,
        list.map(c => (c.id === id ? { ...c, kept: true } : c))
      );
      this._changed.emit(path);
    }
    this._afterAction(path);
    return change;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._events?.stream.disconnect(this._onEvent, this);
    window.clearTimeout(this._pollTimer);
    window.clearTimeout(this._eventWatch);
    for (const timer of this._pending.values()) {
      window.clearTimeout(timer);
    }
    Signal.clearData(this);
  }

  /**
   * After an action of this model: reload the list now, and expect its event soon
   * (none means the event stream is not working, and polling takes over).
   */
  private _afterAction(path: string): void {
    void this.refresh(path);
    if (this._events && !this._events.isDisposed) {
      const seen = this._eventCount;
      window.clearTimeout(this._eventWatch);
      this._eventWatch = window.setTimeout(() => {
        if (this._eventCount === seen && !this._isDisposed) {
          this._eventsLost = true;
          this._schedulePoll();
        }
      }, this._eventTimeout);
    }
  }

  private _grew(id: string): void {
    this._revisions.set(id, this.revision(id) + 1);
    this._details.delete(id);
  }

  private _onEvent(_: Event.IManager, emission: Event.Emission): void {
    if (emission.schema_id !== CHANGE_EVENT_SCHEMA_ID || this._isDisposed) {
      return;
    }
    const event = emission as unknown as IChangeEvent;
    this._eventCount++;
    if (this._eventsLost) {
      this._eventsLost = false;
      this._schedulePoll();
    }
    if (event.action === 'recorded' && this._details.has(event.id)) {
      this._grew(event.id);
    }
    if (this._watchers.has(event.path)) {
      this._refreshSoon(event.path);
    }
  }

  /**
   * One reload for a burst of events (a run writes its outputs cell by cell).
   */
  private _refreshSoon(path: string): void {
    if (this._pending.has(path)) {
      return;
    }
    this._pending.set(
      path,
      window.setTimeout(() => {
        this._pending.delete(path);
        void this.refresh(path);
      }, this._coalesce)
    );
  }

  private _schedulePoll(): void {
    window.clearTimeout(this._pollTimer);
    this._pollTimer = 0;
    if (this._isDisposed || this.eventsAvailable || !this._watchers.size) {
      return;
    }
    this._pollTimer = window.setTimeout(() => {
      this._pollTimer = 0;
      void Promise.all([...this._watchers.keys()].map(path => this.refresh(path))).then(() =>
        this._schedulePoll()
      );
    }, this._pollInterval);
  }

  private _events: Event.IManager | null;
  private _eventsLost = false;
  private _eventCount = 0;
  private _eventWatch = 0;
  private _pollTimer = 0;
  private _pollInterval: number;
  private _eventTimeout: number;
  private _coalesce: number;
  private _watchers = new Map<string, number>();
  private _lists = new Map<string, IChange[]>();
  private _errors = new Map<string, string | null>();
  private _requests = new Map<string, number>();
  private _pending = new Map<string, number>();
  private _revisions = new Map<string, number>();
  private _details = new Map<string, { revision: number; promise: Promise<IChangeDetail> }>();
  private _isDisposed = false;
  private _changed = new Signal<this, string>(this);
}

/**
 * A namespace for ChangesModel statics.
 */
export namespace ChangesModel {
  export interface IOptions {
    client: ChangesClient;
    /**
     * The server's event manager (`app.serviceManager.events`); without it the model polls.
     */
    events?: Event.IManager | null;
    /**
     * Milliseconds between polls of watched notebooks while events do not arrive.
     */
    pollInterval?: number;
    /**
     * Milliseconds to wait for the event of an action of this model.
     */
    eventTimeout?: number;
    /**
     * Milliseconds during which events of one notebook make one reload.
     */
    coalesce?: number;
  }
}
