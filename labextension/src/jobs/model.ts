/**
 * The jobs the panel shows, kept up to date by the server's job events, with REST
 * polling only as the fallback, and nothing at all while no job is active.
 */
import { Event } from '@jupyterlab/services';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import {
  errorMessage,
  IJob,
  IJobEvent,
  IJobRequest,
  isActive,
  JOB_EVENT_SCHEMA_ID,
  JobCounts,
  JOB_STATUSES,
  JobsClient
} from './api';

/**
 * The client-side list of jobs.
 *
 * Sources of changes, in order of preference:
 * 1. the job events pushed by the server (`serviceManager.events.stream`): each
 *    event updates its row at once, and the row's full record is fetched again
 *    (at most once a second per job) for what events do not carry;
 * 2. a full refresh of the list when the panel is shown or refreshed by hand;
 * 3. polling, only while a job is queued or running: every `pollInterval` ms
 *    when the event stream is unavailable (no event manager, or a job this model
 *    started produced no event within `eventTimeout` ms), otherwise every
 *    `resyncInterval` ms to catch events lost while the websocket reconnected.
 * With no active job no timer runs.
 */
export class JobsModel implements IDisposable {
  constructor(options: JobsModel.IOptions) {
    this.client = options.client;
    this._events = options.events ?? null;
    this._pollInterval = options.pollInterval ?? 2000;
    this._resyncInterval = options.resyncInterval ?? 30000;
    this._eventTimeout = options.eventTimeout ?? 5000;
    this._recordInterval = options.recordInterval ?? 1000;
    this._events?.stream.connect(this._onEvent, this);
  }

  readonly client: JobsClient;

  /**
   * Emitted after any change of the jobs, the counts, or the loading state.
   */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /**
   * Emitted once when a job this model saw active has finished, with its final record.
   */
  get jobFinished(): ISignal<this, IJob> {
    return this._jobFinished;
  }

  /**
   * The jobs, newest first.
   */
  get jobs(): IJob[] {
    return [...this._jobs.values()].sort(
      (a, b) => b.created_at - a.created_at || (a.job_id < b.job_id ? 1 : -1)
    );
  }

  /**
   * Jobs per status (counted here, so that they follow the events).
   */
  get counts(): JobCounts {
    const counts: JobCounts = { total: this._jobs.size };
    for (const status of JOB_STATUSES) {
      counts[status] = 0;
    }
    for (const job of this._jobs.values()) {
      counts[job.status] = (counts[job.status] ?? 0) + 1;
    }
    return counts;
  }

  /**
   * Whether the list has been loaded once.
   */
  get loaded(): boolean {
    return this._loaded;
  }

  /**
   * Why the last refresh failed, or null.
   */
  get error(): string | null {
    return this._error;
  }

  /**
   * Whether job events are arriving (false: the model polls while jobs are active).
   */
  get eventsAvailable(): boolean {
    return this._events !== null && !this._events.isDisposed && !this._eventsLost;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  get(jobId: string): IJob | undefined {
    return this._jobs.get(jobId);
  }

  /**
   * Load every job from the server again.
   */
  async refresh(): Promise<void> {
    const request = ++this._refreshes;
    try {
      const { jobs } = await this.client.list();
      if (request !== this._refreshes || this._isDisposed) {
        return;
      }
      const seen = new Set<string>();
      for (const job of jobs) {
        seen.add(job.job_id);
        this._store(job);
      }
      for (const jobId of [...this._jobs.keys()]) {
        if (!seen.has(jobId)) {
          this._jobs.delete(jobId);
        }
      }
      this._error = null;
    } catch (error) {
      if (request !== this._refreshes) {
        return;
      }
      this._error = errorMessage(error);
    }
    this._loaded = true;
    this._schedule();
    this._changed.emit();
  }

  /**
   * Start a job; resolves with its record. Throws the server's error.
   */
  async create(request: IJobRequest): Promise<IJob> {
    return this._track(await this.client.create(request));
  }

  /**
   * Start a new job with a finished job's notebook and arguments.
   */
  async rerun(jobId: string): Promise<IJob> {
    return this._track(await this.client.rerun(jobId));
  }

  /**
   * Cancel a job; resolves once it has stopped.
   */
  async cancel(jobId: string): Promise<IJob> {
    const job = await this.client.cancel(jobId);
    this._store(job);
    this._schedule();
    this._changed.emit();
    return job;
  }

  /**
   * Delete a finished job's record.
   */
  async remove(jobId: string): Promise<void> {
    await this.client.remove(jobId);
    this._jobs.delete(jobId);
    this._changed.emit();
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._events?.stream.disconnect(this._onEvent, this);
    window.clearTimeout(this._pollTimer);
    window.clearTimeout(this._eventWatch);
    for (const timer of this._recordTimers.values()) {
      window.clearTimeout(timer);
    }
    Signal.clearData(this);
  }

  private _track(job: IJob): IJob {
    this._store(job);
    if (this._events && !this._events.isDisposed) {
      // A job this model started must produce an event soon; if none arrives,
      // the event stream is not working and polling takes over.
      const jobId = job.job_id;
      const seen = this._eventCount;
      window.clearTimeout(this._eventWatch);
      this._eventWatch = window.setTimeout(() => {
        const current = this._jobs.get(jobId);
        if (this._eventCount === seen && current && isActive(current.status)) {
          this._eventsLost = true;
          this._schedule();
        }
      }, this._eventTimeout);
    }
    this._schedule();
    this._changed.emit();
    return job;
  }

  /**
   * Keep a record, and announce a job that was seen active and has ended.
   */
  private _store(job: IJob): void {
    const previous = this._jobs.get(job.job_id);
    if (previous && !isActive(previous.status) && isActive(job.status)) {
      // An answer older than what is known already (a job never runs again).
      return;
    }
    this._jobs.set(job.job_id, job);
    const wasActive =
      (previous && isActive(previous.status)) || this._seenActive.has(job.job_id);
    if (isActive(job.status)) {
      this._seenActive.add(job.job_id);
    } else {
      this._seenActive.delete(job.job_id);
      if (wasActive) {
        this._jobFinished.emit(job);
      }
    }
  }

  private _onEvent(_: Event.IManager, emission: Event.Emission): void {
    if (emission.schema_id !== JOB_EVENT_SCHEMA_ID || this._isDisposed) {
      return;
    }
    const event = emission as unknown as IJobEvent;
    this._eventCount++;
    if (this._eventsLost) {
      this._eventsLost = false;
    }
    if (event.action === 'deleted') {
      this._seenActive.delete(event.job_id);
      if (this._jobs.delete(event.job_id)) {
        this._changed.emit();
      }
      this._schedule();
      return;
    }
    if (isActive(event.status) || event.action === 'created') {
      // Seen active: its end is announced even when its record arrives only after it ended.
      // A job created already ended (a scheduled run that could not start) is announced too.
      this._seenActive.add(event.job_id);
    }
    const known = this._jobs.get(event.job_id);
    if (known) {
      // Show what the event says at once; the full record follows.
      const cellRunning = event.cell_running ?? false;
      const current = known.progress.current_cell;
      const updated: IJob = {
        ...known,
        status: event.status,
        message: event.message ?? known.message,
        progress: {
          ...known.progress,
          cells_total: event.cells_total ?? known.progress.cells_total,
          cells_executed: event.cells_executed ?? known.progress.cells_executed,
          percent: event.percent ?? known.progress.percent,
          current_cell: cellRunning
            ? current && current.index === event.current_cell_index
              ? current
              : { index: event.current_cell_index ?? null, source: '' }
            : null
        }
      };
      if (isActive(known.status) && !isActive(event.status)) {
        // The final record (result, error, times) comes with the fetch; the
        // announcement waits for it.
        this._jobs.set(event.job_id, { ...updated, status: known.status });
        this._fetchRecord(event.job_id, true);
      } else {
        this._jobs.set(event.job_id, updated);
        this._fetchRecord(event.job_id, false);
      }
    } else {
      this._fetchRecord(event.job_id, true);
    }
    this._schedule();
    this._changed.emit();
  }

  /**
   * Fetch one job's record: at once when `now` or when the last fetch of it is
   * `recordInterval` ms old, else once at the end of that interval (a throttle:
   * a notebook of many quick cells costs one request a second, not one per cell).
   */
  private _fetchRecord(jobId: string, now: boolean): void {
    const pending = this._recordTimers.get(jobId);
    const since = Date.now() - (this._lastFetch.get(jobId) ?? 0);
    if (pending !== undefined) {
      if (!now) {
        return;
      }
      window.clearTimeout(pending);
      this._recordTimers.delete(jobId);
    }
    const delay = now ? 0 : Math.max(0, this._recordInterval - since);
    const fetch = async (): Promise<void> => {
      this._recordTimers.delete(jobId);
      this._lastFetch.set(jobId, Date.now());
      try {
        const job = await this.client.get(jobId);
        if (!this._isDisposed) {
          this._store(job);
          this._schedule();
          this._changed.emit();
        }
      } catch (error) {
        // A job deleted meanwhile: its deleted event removes it.
        console.debug(`Could not fetch job ${jobId}:`, error);
      }
    };
    this._recordTimers.set(jobId, window.setTimeout(() => void fetch(), delay));
  }

  /**
   * Poll only while a job is active: fast without events, slow as a safety net with them.
   */
  private _schedule(): void {
    window.clearTimeout(this._pollTimer);
    this._pollTimer = 0;
    if (this._isDisposed) {
      return;
    }
    const active = [...this._jobs.values()].some(job => isActive(job.status));
    if (!active) {
      return;
    }
    const interval = this.eventsAvailable
      ? this._resyncInterval
      : this._pollInterval;
    this._pollTimer = window.setTimeout(() => void this.refresh(), interval);
  }

  private _jobs = new Map<string, IJob>();
  private _seenActive = new Set<string>();
  private _events: Event.IManager | null;
  private _eventsLost = false;
  private _eventCount = 0;
  private _eventWatch = 0;
  private _pollTimer = 0;
  private _recordTimers = new Map<string, number>();
  private _lastFetch = new Map<string, number>();
  private _pollInterval: number;
  private _resyncInterval: number;
  private _eventTimeout: number;
  private _recordInterval: number;
  private _refreshes = 0;
  private _loaded = false;
  private _error: string | null = null;
  private _isDisposed = false;
  private _changed = new Signal<this, void>(this);
  private _jobFinished = new Signal<this, IJob>(this);
}

/**
 * A namespace for JobsModel statics.
 */
export namespace JobsModel {
  export interface IOptions {
    client: JobsClient;
    /**
     * The server's event manager (`app.serviceManager.events`); without it the model polls.
     */
    events?: Event.IManager | null;
    /**
     * Milliseconds between polls while a job is active and events do not arrive.
     */
    pollInterval?: number;
    /**
     * Milliseconds between safety refreshes while a job is active and events arrive.
     */
    resyncInterval?: number;
    /**
     * Milliseconds to wait for the first event of a job this model started.
     */
    eventTimeout?: number;
    /**
     * Least milliseconds between two fetches of one job's record.
     */
    recordInterval?: number;
  }
}
