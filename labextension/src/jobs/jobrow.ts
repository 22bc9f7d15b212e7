/**
 * One job in the Notebook Jobs list: name, status badge, progress, times, who
 * started it, parameters, its warnings, the error of a failed job, and its actions.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import {
  deleteIcon,
  fileIcon,
  LabIcon,
  launchIcon,
  listIcon,
  notebookIcon,
  runIcon,
  stopIcon,
  userIcon
} from '@jupyterlab/ui-components';

import { mcpIcon } from '../icon';

import { IJob, isActive, JobStatus } from './api';
import { baseName, formatDuration, formatTime, formatValue } from './format';
import { scheduleIcon } from './icons';

/**
 * What a row's buttons do; the panel provides them.
 */
export interface IJobActions {
  openOutput(job: IJob): void;
  openInput(job: IJob): void;
  showLog(job: IJob): void;
  cancel(job: IJob): void;
  rerun(job: IJob): void;
  remove(job: IJob): void;
}

/**
 * Parameters shown in a row before the rest are summed up as "+N".
 */
const MAX_PARAMETERS = 4;

/**
 * The translated label of a status.
 */
export function statusLabel(status: JobStatus, trans: TranslationBundle): string {
  switch (status) {
    case 'queued':
      return trans.__('Queued');
    case 'running':
      return trans.__('Running');
    case 'completed':
      return trans.__('Completed');
    case 'failed':
      return trans.__('Failed');
    case 'timeout':
      return trans.__('Timed out');
    case 'cancelled':
      return trans.__('Cancelled');
  }
}

/**
 * Who started the job, as the row says it.
 */
export function starterLabel(job: IJob, trans: TranslationBundle): string {
  const starter = job.started_by;
  if (!starter) {
    return '';
  }
  if (starter.via === 'mcp') {
    return starter.client_name ?? trans.__('MCP client');
  }
  if (starter.via === 'schedule') {
    return trans.__('Schedule');
  }
  return trans.__('JupyterLab');
}

/**
 * Who started the job, in a sentence (the tooltip of the starter).
 */
export function starterTitle(job: IJob, trans: TranslationBundle): string {
  const starter = job.started_by;
  if (!starter) {
    return '';
  }
  if (starter.via === 'mcp') {
    return starter.client_name
      ? trans.__('Started by the MCP client “%1”', starter.client_name)
      : trans.__('Started by an MCP client that did not give its name');
  }
  if (starter.via === 'schedule') {
    return trans.__('A run of schedule %1', job.schedule_id ?? '');
  }
  return trans.__('Started from JupyterLab (or the REST API)');
}

/**
 * The one-line error of a failed, timed-out or cancelled job.
 */
export function errorLine(job: IJob, trans: TranslationBundle): string {
  const error = job.error ?? job.result?.error;
  if (!error) {
    return '';
  }
  const what =
    error.ename !== null && error.ename !== undefined
      ? `${error.ename}: ${error.evalue ?? ''}`.trim()
      : error.message;
  if (error.cell_index !== null && error.cell_index !== undefined) {
    return trans.__('Cell %1: %2', error.cell_index, what);
  }
  return what;
}

/**
 * A list item that shows one job and updates in place, so that focus and the
 * progress bar's transition survive updates.
 */
export class JobRow {
  constructor(
    job: IJob,
    private _actions: IJobActions,
    private _trans: TranslationBundle
  ) {
    const trans = _trans;
    const node = (this.node = element('li', 'jp-mcp-ext-JobRow'));
    node.dataset.jobId = job.job_id;

    const header = element('div', 'jp-mcp-ext-JobRow-header');
    header.appendChild(
      notebookIcon.element({ tag: 'span', className: 'jp-mcp-ext-JobRow-icon' })
    );
    this._name = element('button', 'jp-mcp-ext-JobRow-name');
    this._name.addEventListener('click', () => this._actions.openOutput(this._job));
    header.appendChild(this._name);
    this._status = element('span', 'jp-mcp-ext-JobStatus');
    header.appendChild(this._status);
    node.appendChild(header);

    this._progress = element('div', 'jp-mcp-ext-JobRow-progress');
    this._progress.setAttribute('role', 'progressbar');
    this._progress.setAttribute('aria-valuemin', '0');
    this._progress.setAttribute('aria-valuemax', '100');
    this._bar = element('div', 'jp-mcp-ext-JobRow-progressBar');
    this._progress.appendChild(this._bar);
    node.appendChild(this._progress);

    this._cell = element('div', 'jp-mcp-ext-JobRow-cell');
    node.appendChild(this._cell);
    this._meta = element('div', 'jp-mcp-ext-JobRow-meta');
    this._times = element('span', 'jp-mcp-ext-JobRow-times');
    this._starter = element('span', 'jp-mcp-ext-JobRow-starter');
    this._meta.append(this._times, this._starter);
    node.appendChild(this._meta);
    this._params = element('div', 'jp-mcp-ext-JobRow-params');
    node.appendChild(this._params);
    this._warnings = element('ul', 'jp-mcp-ext-JobRow-warnings');
    this._warnings.setAttribute('aria-label', trans.__('Warnings'));
    node.appendChild(this._warnings);
    this._error = element('div', 'jp-mcp-ext-JobRow-error');
    node.appendChild(this._error);

    const actions = element('div', 'jp-mcp-ext-JobRow-actions');
    actions.setAttribute('role', 'toolbar');
    const button = (
      name: string,
      icon: LabIcon,
      label: string,
      onClick: () => void
    ): HTMLButtonElement => {
      const b = element('button', `jp-mcp-ext-JobRow-action jp-mod-${name}`);
      b.type = 'button';
      b.title = label;
      b.setAttribute('aria-label', label);
      b.appendChild(icon.element({ tag: 'span' }));
      b.addEventListener('click', event => {
        event.stopPropagation();
        onClick();
      });
      actions.appendChild(b);
      return b;
    };
    this._buttons = {
      output: button('output', launchIcon, trans.__('Open the output notebook'), () =>
        this._actions.openOutput(this._job)
      ),
      input: button('input', fileIcon, trans.__('Open the input notebook'), () =>
        this._actions.openInput(this._job)
      ),
      log: button('log', listIcon, trans.__('Show the log'), () =>
        this._actions.showLog(this._job)
      ),
      cancel: button('cancel', stopIcon, trans.__('Cancel the job'), () =>
        this._actions.cancel(this._job)
      ),
      rerun: button('rerun', runIcon, trans.__('Run again with the same parameters'), () =>
        this._actions.rerun(this._job)
      ),
      remove: button('remove', deleteIcon, trans.__('Delete this record (the output notebook stays)'), () =>
        this._actions.remove(this._job)
      )
    };
    node.appendChild(actions);

    this._job = job;
    this.update(job);
  }

  readonly node: HTMLLIElement;

  get job(): IJob {
    return this._job;
  }

  /**
   * Show `job` (a newer record of the same job); `now` in seconds since the epoch
   * for the duration of a running job.
   */
  update(job: IJob, now: number = Date.now() / 1000): void {
    const trans = this._trans;
    this._job = job;
    const node = this.node;
    const active = isActive(job.status);
    node.dataset.status = job.status;
    for (const status of ['queued', 'running', 'completed', 'failed', 'timeout', 'cancelled']) {
      node.classList.toggle(`jp-mod-${status}`, job.status === status);
    }

    const name = baseName(job.notebook_path);
    // Every job runs a notebook: the extension would only take room from the name.
    setText(this._name, name.replace(/\.ipynb$/i, ''));
    this._name.title =
      job.status === 'queued'
        ? job.notebook_path
        : trans.__('%1 — open the output notebook %2', job.notebook_path, job.output_path);
    this._name.setAttribute(
      'aria-label',
      trans.__('%1, %2: open the output notebook', name, statusLabel(job.status, trans))
    );
    this._name.disabled = job.status === 'queued';
    setText(this._status, statusLabel(job.status, trans));
    this._status.className = `jp-mcp-ext-JobStatus jp-mod-${job.status}`;

    // Progress: code cells done / total, and the cell running now.
    const progress = job.progress ?? {};
    const total = progress.cells_total ?? 0;
    const done = Math.min(progress.cells_executed ?? 0, total || Infinity);
    const percent = total ? Math.round((100 * done) / total) : 0;
    const running = job.status === 'running';
    this._progress.hidden = !running;
    this._progress.classList.toggle('jp-mod-indeterminate', running && !total);
    // A cell is running: the rest of the bar shimmers, so a long cell does not look stuck.
    this._progress.classList.toggle('jp-mod-busy', running && !!total && !!progress.current_cell);
    this._progress.setAttribute('aria-valuenow', String(percent));
    this._progress.setAttribute(
      'aria-label',
      trans.__('%1 of %2 code cells executed', done, total)
    );
    this._bar.style.width = `${percent}%`;

    const current = progress.current_cell;
    let cellText = '';
    if (running) {
      cellText = total
        ? trans.__('%1/%2 cells', done, total)
        : trans.__('Starting…');
      if (current) {
        const where =
          current.index === null || current.index === undefined
            ? trans.__('parameters')
            : trans.__('cell %1', current.index);
        cellText += ` · ${where}`;
      }
    } else if (job.status === 'queued') {
      cellText = job.message ?? '';
    }
    this._cell.replaceChildren();
    if (cellText) {
      this._cell.appendChild(element('span', '', cellText));
    }
    const firstLine = running && current?.source ? current.source.split('\n')[0] : '';
    if (firstLine) {
      const code = element('code', 'jp-mcp-ext-JobRow-source', firstLine);
      code.title = current?.source ?? '';
      this._cell.appendChild(code);
    }
    this._cell.hidden = !cellText && !firstLine;

    // Times and who started it.
    const parts: string[] = [];
    if (job.started_at) {
      parts.push(formatTime(job.started_at));
      const end = job.completed_at ?? (running ? now : null);
      const seconds =
        end !== null ? end - job.started_at : (job.execution_time ?? null);
      if (seconds !== null) {
        parts.push(formatDuration(seconds));
      }
    } else {
      parts.push(trans.__('created %1', formatTime(job.created_at)));
    }
    setText(this._times, parts.join(' · '));
    this._times.title = [
      trans.__('Created: %1', new Date(job.created_at * 1000).toLocaleString()),
      job.started_at
        ? trans.__('Started: %1', new Date(job.started_at * 1000).toLocaleString())
        : '',
      job.completed_at
        ? trans.__('Ended: %1', new Date(job.completed_at * 1000).toLocaleString())
        : '',
      trans.__('Kernel: %1', job.kernel_name),
      job.message ?? ''
    ]
      .filter(Boolean)
      .join('\n');
    const via = job.started_by?.via ?? '';
    if (via !== this._via) {
      this._via = via;
      this._starter.replaceChildren();
      if (via) {
        const icon = via === 'mcp' ? mcpIcon : via === 'schedule' ? scheduleIcon : userIcon;
        this._starter.appendChild(icon.element({ tag: 'span', className: 'jp-mcp-ext-JobRow-starterIcon' }));
        this._starter.appendChild(element('span', 'jp-mcp-ext-JobRow-starterName'));
      }
    }
    const starterName = this._starter.querySelector('.jp-mcp-ext-JobRow-starterName');
    if (starterName) {
      setText(starterName as HTMLElement, starterLabel(job, trans));
    }
    this._starter.title = starterTitle(job, trans);
    this._starter.hidden = !via;

    // Parameters, as chips.
    const entries = Object.entries(job.parameters ?? {});
    const signature = JSON.stringify(entries);
    if (signature !== this._paramSignature) {
      this._paramSignature = signature;
      this._params.replaceChildren();
      for (const [key, value] of entries.slice(0, MAX_PARAMETERS)) {
        const chip = element('span', 'jp-mcp-ext-JobRow-param');
        chip.appendChild(element('span', 'jp-mcp-ext-JobRow-paramName', key));
        chip.appendChild(document.createTextNode('='));
        chip.appendChild(
          element('span', 'jp-mcp-ext-JobRow-paramValue', formatValue(value, 24))
        );
        this._params.appendChild(chip);
      }
      if (entries.length > MAX_PARAMETERS) {
        this._params.appendChild(
          element(
            'span',
            'jp-mcp-ext-JobRow-param jp-mod-more',
            trans.__('+%1', entries.length - MAX_PARAMETERS)
          )
        );
      }
      this._params.title = entries
        .map(([key, value]) => `${key} = ${formatValue(value, 200)}`)
        .join('\n');
      this._params.setAttribute(
        'aria-label',
        trans.__('Parameters: %1', entries.map(([key, value]) => `${key} = ${formatValue(value, 200)}`).join(', '))
      );
    }
    this._params.hidden = entries.length === 0;

    // What the run does that its starter may not expect (parameters Papermill put
    // first for want of a `parameters` cell, or that the notebook does not declare).
    const warnings = job.warnings ?? [];
    const warningSignature = JSON.stringify(warnings);
    if (warningSignature !== this._warningSignature) {
      this._warningSignature = warningSignature;
      this._warnings.replaceChildren(
        ...warnings.map(text => {
          const item = element('li', 'jp-mcp-ext-JobRow-warning', text);
          item.title = text;
          return item;
        })
      );
    }
    this._warnings.hidden = warnings.length === 0;

    // The error of a job that did not complete.
    const error =
      job.status === 'failed' || job.status === 'timeout'
        ? errorLine(job, trans) || (job.message ?? '')
        : job.status === 'cancelled'
          ? (job.message ?? '')
          : '';
    setText(this._error, error);
    this._error.title = (job.error?.traceback ?? []).join('\n') || error;
    this._error.hidden = !error;
    this._error.classList.toggle('jp-mod-note', job.status === 'cancelled');

    // Actions that apply now.
    this._buttons.output.disabled = job.status === 'queued';
    this._buttons.cancel.hidden = !active;
    this._buttons.cancel.disabled = job.cancel_requested_at !== null && job.cancel_requested_at !== undefined;
    this._buttons.rerun.hidden = active;
    this._buttons.remove.hidden = active;
  }

  private _job: IJob;
  private _name: HTMLButtonElement;
  private _status: HTMLSpanElement;
  private _progress: HTMLDivElement;
  private _bar: HTMLDivElement;
  private _cell: HTMLDivElement;
  private _meta: HTMLDivElement;
  private _times: HTMLSpanElement;
  private _starter: HTMLSpanElement;
  private _via: string | null = null;
  private _params: HTMLDivElement;
  private _warnings: HTMLUListElement;
  private _warningSignature = '';
  private _error: HTMLDivElement;
  private _paramSignature = '';
  private _buttons: { [name: string]: HTMLButtonElement };
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className = '',
  text = ''
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text) {
    node.textContent = text;
  }
  return node;
}

function setText(node: HTMLElement, text: string): void {
  if (node.textContent !== text) {
    node.textContent = text;
  }
}
