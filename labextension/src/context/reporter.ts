/**
 * The reporter of one Lab tab's focus: debounces the frequent changes (every
 * cell click, every cursor move while typing), repeats the state as a
 * heartbeat while the page is open, and withdraws it when the page closes or
 * the person turns sharing off. It knows nothing of Lab: a `snapshot`
 * function gives it the state (snapshot.ts), a client takes the reports.
 */
import { IDisposable } from '@lumino/disposable';

import { IContextClient, IFocusReport, IFocusState } from './api';

/**
 * Seconds between two heartbeats; the server counts a tab not heard from for
 * three minutes as closed (jupyter_mcp_ext/lab/service.py, keep them together).
 */
export const HEARTBEAT_MS = 60_000;

/**
 * A change is reported this long after the last one of a burst...
 */
export const DEBOUNCE_MS = 400;

/**
 * ...and no later than this after the first (continuous typing).
 */
export const MAX_WAIT_MS = 3_000;

/**
 * What of a state is the person's focus: a change of it moves the focus time.
 */
function focusKey(state: IFocusState): string {
  return JSON.stringify([
    state.path,
    state.cell_index,
    state.cell_id,
    state.selected_cells,
    state.text_selection
  ]);
}

export class ContextReporter implements IDisposable {
  constructor(options: ContextReporter.IOptions) {
    this._client = options.client;
    this._snapshot = options.snapshot;
    this.tab = options.tab ?? newTabId();
    this._debounceMs = options.debounceMs ?? DEBOUNCE_MS;
    this._maxWaitMs = options.maxWaitMs ?? MAX_WAIT_MS;
    this._heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
  }

  /**
   * The id this page reports under (made up when the page loads).
   */
  readonly tab: string;

  get isDisposed(): boolean {
    return this._disposed;
  }

  /**
   * Whether the person shares their focus (the Lab setting). Off by default,
   * so that nothing is sent before the setting is known. Turning it off
   * withdraws everything reported; turning it on reports at once.
   */
  get enabled(): boolean {
    return this._enabled;
  }

  set enabled(value: boolean) {
    if (this._disposed || value === this._enabled) {
      return;
    }
    this._enabled = value;
    if (value) {
      this._heartbeat = setInterval(() => this._send('heartbeat'), this._heartbeatMs);
      this.focused();
    } else {
      this._stopTimers();
      this._last = null;
      this._enqueue(() => this._client.forget(this.tab, 'off'));
    }
  }

  /**
   * Something the person sees changed (a cell, the selection, a kernel, a
   * notebook opened or closed): report it once the burst is over, if it did.
   */
  changed(): void {
    this._schedule(false);
  }

  /**
   * The person turned to this tab (window focus, the page shown again): report
   * it as a focus change even if nothing else changed, so this tab wins over
   * the person's other tabs.
   */
  focused(): void {
    this._schedule(true);
  }

  /**
   * The page goes away: withdraw its report at once, with a request that
   * outlives the page. If the page comes back, its next heartbeat reports again.
   */
  pageHidden(): void {
    if (!this._enabled || this._disposed) {
      return;
    }
    this._last = null;
    void this._client.forget(this.tab, 'closed', true).catch(() => undefined);
  }

  /**
   * The requests sent so far have been answered (for tests).
   */
  flushed(): Promise<void> {
    return this._queue;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this.pageHidden();
    this._stopTimers();
    this._disposed = true;
  }

  private _schedule(force: boolean): void {
    if (!this._enabled || this._disposed) {
      return;
    }
    this._force = this._force || force;
    const now = Date.now();
    if (this._firstPending === null) {
      this._firstPending = now;
    }
    if (this._timer !== null) {
      clearTimeout(this._timer);
    }
    const wait = Math.min(
      this._debounceMs,
      Math.max(0, this._firstPending + this._maxWaitMs - now)
    );
    this._timer = setTimeout(() => {
      const force = this._force;
      this._timer = null;
      this._firstPending = null;
      this._force = false;
      this._send(force ? 'focus' : 'change');
    }, wait);
  }

  /**
   * Send the state now: after a change (only if it differs from what was last
   * sent), after a focus (always, as a focus change), or as a heartbeat
   * (always; a focus change if the focus moved without a report).
   */
  private _send(kind: 'change' | 'focus' | 'heartbeat'): void {
    if (!this._enabled || this._disposed) {
      return;
    }
    let state: IFocusState;
    try {
      state = this._snapshot();
    } catch (error) {
      console.warn('jupyter-mcp-ext: could not read the active notebook', error);
      return;
    }
    const whole = JSON.stringify(state);
    const key = focusKey(state);
    if (kind === 'change' && this._last !== null && whole === this._last.whole) {
      return;
    }
    // Without a last report (the first, or after a withdrawal) a heartbeat is
    // still one: the server takes an unknown tab's heartbeat as its focus.
    const moved = this._last !== null ? key !== this._last.key : kind !== 'heartbeat';
    const report: IFocusReport = {
      ...state,
      tab: this.tab,
      heartbeat: kind !== 'focus' && !moved
    };
    this._last = { whole, key };
    this._enqueue(() => this._client.report(report));
  }

  /**
   * Requests go one after the other, so that a report in flight cannot land
   * after the withdrawal that followed it.
   */
  private _enqueue(request: () => Promise<void>): void {
    this._queue = this._queue.then(request).catch(error => {
      // The next change is sent even if it equals this one.
      if (this._last !== null) {
        this._last.whole = '';
      }
      console.debug('jupyter-mcp-ext: could not report the active notebook', error);
    });
  }

  private _stopTimers(): void {
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
    if (this._heartbeat !== null) {
      clearInterval(this._heartbeat);
      this._heartbeat = null;
    }
    this._firstPending = null;
    this._force = false;
  }

  private _client: IContextClient;
  private _snapshot: () => IFocusState;
  private _debounceMs: number;
  private _maxWaitMs: number;
  private _heartbeatMs: number;
  private _enabled = false;
  private _disposed = false;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _heartbeat: ReturnType<typeof setInterval> | null = null;
  private _firstPending: number | null = null;
  private _force = false;
  private _last: { whole: string; key: string } | null = null;
  private _queue: Promise<void> = Promise.resolve();
}

/**
 * A namespace for ContextReporter statics.
 */
export namespace ContextReporter {
  export interface IOptions {
    client: IContextClient;
    /**
     * The tab's state now.
     */
    snapshot: () => IFocusState;
    /**
     * Default: a new random id.
     */
    tab?: string;
    debounceMs?: number;
    maxWaitMs?: number;
    heartbeatMs?: number;
  }
}

/**
 * An id for this page: random, not a secret (crypto.randomUUID needs a secure
 * context, which a Lab served over plain http on a LAN address is not).
 */
function newTabId(): string {
  const random = Math.random().toString(36).slice(2, 12);
  return `tab-${Date.now().toString(36)}-${random}`;
}
