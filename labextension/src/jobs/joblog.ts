/**
 * A job's log in the main area: its lines, following new ones while the job runs.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { errorMessage, IJob, ILogLine, isActive } from './api';
import { baseName } from './format';
import { statusLabel } from './jobrow';
import { JobsModel } from './model';

/**
 * The log of one job. While it is attached and the job is active it asks for new
 * lines once a second (the job's stdout has no events); afterwards it reads the
 * rest once and stops.
 */
export class JobLogView extends Widget {
  constructor(options: JobLogView.IOptions) {
    super();
    this._model = options.model;
    this._trans = options.trans;
    this.jobId = options.jobId;
    this._interval = options.interval ?? 1000;
    this.addClass('jp-mcp-ext-JobLog');
    this.node.tabIndex = 0;
    this._status = document.createElement('div');
    this._status.className = 'jp-mcp-ext-JobLog-status';
    this._status.setAttribute('role', 'status');
    this._lines = document.createElement('div');
    this._lines.className = 'jp-mcp-ext-JobLog-lines';
    this._lines.setAttribute('role', 'log');
    this._lines.setAttribute('aria-label', this._trans.__('Job log'));
    this.node.appendChild(this._status);
    this.node.appendChild(this._lines);
    this._model.changed.connect(this._onModelChanged, this);
    this._renderStatus();
  }

  readonly jobId: string;

  dispose(): void {
    window.clearTimeout(this._timer);
    super.dispose();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    void this._fetch();
  }

  protected onBeforeDetach(msg: Message): void {
    window.clearTimeout(this._timer);
    this._timer = 0;
    super.onBeforeDetach(msg);
  }

  private _onModelChanged(): void {
    this._renderStatus();
    const job = this._model.get(this.jobId);
    // The job ended: read what it wrote last, at once.
    if (job && !isActive(job.status) && this._active && this.isAttached) {
      window.clearTimeout(this._timer);
      void this._fetch();
    }
  }

  private async _fetch(): Promise<void> {
    if (this._fetching || this.isDisposed) {
      return;
    }
    this._fetching = true;
    window.clearTimeout(this._timer);
    this._timer = 0;
    let more = false;
    try {
      const page = await this._model.client.logs(this.jobId, this._since);
      this._append(page.logs);
      this._since = page.next_since_line;
      this._active = isActive(page.status);
      more = page.has_more;
      this._error = '';
    } catch (error) {
      this._error = errorMessage(error);
      this._active = false;
    } finally {
      this._fetching = false;
    }
    this._renderStatus();
    if (this.isAttached && !this.isDisposed && (more || this._active)) {
      this._timer = window.setTimeout(() => void this._fetch(), more ? 0 : this._interval);
    }
  }

  private _append(lines: ILogLine[]): void {
    if (!lines.length) {
      return;
    }
    const box = this._lines;
    // Follow new lines only when the reader is at the bottom already.
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 24;
    const fragment = document.createDocumentFragment();
    for (const line of lines) {
      const row = document.createElement('div');
      row.className = `jp-mcp-ext-JobLog-line jp-mod-${line.level}`;
      const time = document.createElement('span');
      time.className = 'jp-mcp-ext-JobLog-time';
      time.textContent = line.timestamp
        ? new Date(line.timestamp * 1000).toLocaleTimeString()
        : '';
      const level = document.createElement('span');
      level.className = 'jp-mcp-ext-JobLog-level';
      level.textContent = line.level;
      const text = document.createElement('span');
      text.className = 'jp-mcp-ext-JobLog-text';
      text.textContent = line.message;
      row.append(time, level, text);
      fragment.appendChild(row);
    }
    box.appendChild(fragment);
    if (atBottom) {
      box.scrollTop = box.scrollHeight;
    }
  }

  private _renderStatus(): void {
    const trans = this._trans;
    const job: IJob | undefined = this._model.get(this.jobId);
    const parts: string[] = [];
    if (job) {
      parts.push(`${baseName(job.notebook_path)} — ${statusLabel(job.status, trans)}`);
      if (job.message) {
        parts.push(job.message);
      }
    }
    if (this._error) {
      parts.push(trans.__('Could not read the log: %1', this._error));
    } else if (this._active) {
      parts.push(trans.__('Following new lines…'));
    }
    this._status.textContent = parts.join(' · ');
    this._status.classList.toggle('jp-mod-error', !!this._error);
  }

  private _model: JobsModel;
  private _trans: TranslationBundle;
  private _status: HTMLDivElement;
  private _lines: HTMLDivElement;
  private _since = 0;
  private _active = true;
  private _fetching = false;
  private _timer = 0;
  private _interval: number;
  private _error = '';
}

/**
 * A namespace for JobLogView statics.
 */
export namespace JobLogView {
  export interface IOptions {
    model: JobsModel;
    jobId: string;
    trans: TranslationBundle;
    /**
     * Milliseconds between two reads of new lines while the job runs.
     */
    interval?: number;
  }
}
