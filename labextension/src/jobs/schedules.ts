/**
 * The Schedules view of the Notebook Jobs panel: each schedule with its repeat
 * in words, its next runs in the browser's local time, its last run's status,
 * and its actions (run now, pause or resume, edit, delete).
 */
import { TranslationBundle } from '@jupyterlab/translation';
import {
  deleteIcon,
  editIcon,
  LabIcon,
  notebookIcon,
  pauseIcon,
  runIcon
} from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { errorMessage, ISchedule, IScheduleList, JobsClient } from './api';
import { baseName, formatRunTime, formatTime } from './format';
import { scheduleIcon } from './icons';
import { statusLabel } from './jobrow';
import { JobsModel } from './model';

/**
 * The schedules the view shows, loaded from the server when the view is shown,
 * after a change made here, when a scheduled job starts or ends (seen in the
 * jobs model), and when a shown next run time has passed.
 */
export class SchedulesModel {
  constructor(options: { client: JobsClient; jobs: JobsModel }) {
    this.client = options.client;
    this._jobs = options.jobs;
    this._jobs.changed.connect(this._onJobsChanged, this);
  }

  readonly client: JobsClient;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get schedules(): ISchedule[] {
    return this._list?.schedules ?? [];
  }

  get scheduler(): IScheduleList['scheduler'] | null {
    return this._list?.scheduler ?? null;
  }

  get loaded(): boolean {
    return this._list !== null || this._error !== null;
  }

  get error(): string | null {
    return this._error;
  }

  /**
   * Whether the view is on screen: only then does the model refresh by itself.
   */
  set watching(watching: boolean) {
    this._watching = watching;
    if (watching) {
      void this.refresh();
    } else {
      window.clearTimeout(this._timer);
    }
  }

  async refresh(): Promise<void> {
    const request = ++this._requests;
    try {
      const list = await this.client.schedules();
      if (request !== this._requests) {
        return;
      }
      this._list = list;
      this._error = null;
    } catch (error) {
      if (request !== this._requests) {
        return;
      }
      this._error = errorMessage(error);
    }
    this._planRefresh();
    this._changed.emit();
  }

  /**
   * Apply a change made here (the server's answer is the schedule as it is now).
   */
  store(schedule: ISchedule): void {
    if (!this._list) {
      return;
    }
    const schedules = this._list.schedules.filter(s => s.schedule_id !== schedule.schedule_id);
    const index = this._list.schedules.findIndex(s => s.schedule_id === schedule.schedule_id);
    schedules.splice(index < 0 ? schedules.length : index, 0, schedule);
    this._list = { ...this._list, schedules };
    this._planRefresh();
    this._changed.emit();
  }

  forget(scheduleId: string): void {
    if (this._list) {
      this._list = {
        ...this._list,
        schedules: this._list.schedules.filter(s => s.schedule_id !== scheduleId)
      };
      this._changed.emit();
    }
  }

  dispose(): void {
    window.clearTimeout(this._timer);
    this._jobs.changed.disconnect(this._onJobsChanged, this);
    Signal.clearData(this);
  }

  /**
   * Refresh once the earliest next run shown has come (its run then shows as the last).
   */
  private _planRefresh(): void {
    window.clearTimeout(this._timer);
    if (!this._watching) {
      return;
    }
    const next = Math.min(
      ...this.schedules.filter(s => s.next_runs.length).map(s => Date.parse(s.next_runs[0]))
    );
    if (isFinite(next)) {
      // At most a day: a timer further away drifts, and the browser may sleep.
      const delay = Math.min(Math.max(next - Date.now() + 2000, 1000), 86_400_000);
      this._timer = window.setTimeout(() => void this.refresh(), delay);
    }
  }

  /**
   * A scheduled job appeared or changed status: its schedule's last run did.
   */
  private _onJobsChanged(): void {
    const signature = this._jobs.jobs
      .filter(job => job.schedule_id)
      .map(job => `${job.job_id}:${job.status}`)
      .join(',');
    if (signature === this._signature) {
      return;
    }
    this._signature = signature;
    if (this._watching) {
      window.clearTimeout(this._jobsTimer);
      this._jobsTimer = window.setTimeout(() => void this.refresh(), 300);
    }
  }

  private _jobs: JobsModel;
  private _list: IScheduleList | null = null;
  private _error: string | null = null;
  private _requests = 0;
  private _watching = false;
  private _timer = 0;
  private _jobsTimer = 0;
  private _signature = '';
  private _changed = new Signal<this, void>(this);
}

/**
 * What a schedule row's buttons do; the plugin provides them.
 */
export interface IScheduleActions {
  runNow(schedule: ISchedule): void;
  setActive(schedule: ISchedule, active: boolean): void;
  edit(schedule: ISchedule): void;
  remove(schedule: ISchedule): void;
  openInput(schedule: ISchedule): void;
  openOutput(path: string): void;
}

/**
 * The list of schedules.
 */
export class SchedulesList extends Widget {
  constructor(options: { model: SchedulesModel; actions: IScheduleActions; trans: TranslationBundle }) {
    super();
    this._options = options;
    this.addClass('jp-mcp-ext-SchedulesList');
    this._message = document.createElement('div');
    this._message.className = 'jp-mcp-ext-JobsList-message';
    this._message.setAttribute('role', 'status');
    this._ul = document.createElement('ul');
    this._ul.className = 'jp-mcp-ext-JobsList-items';
    this._ul.setAttribute('aria-label', options.trans.__('Schedules'));
    this.node.append(this._message, this._ul);
    options.model.changed.connect(() => {
      if (this.isVisible) {
        this.render();
      }
    });
  }

  render(): void {
    const { model, actions, trans } = this._options;
    const focused = this.node.contains(document.activeElement)
      ? (document.activeElement as HTMLElement)
      : null;
    const focusKey = focused?.dataset.action
      ? `${focused.closest<HTMLElement>('[data-schedule-id]')?.dataset.scheduleId}:${focused.dataset.action}`
      : null;
    this._ul.replaceChildren(...model.schedules.map(s => scheduleRow(s, actions, trans)));
    if (focusKey) {
      const [id, action] = focusKey.split(':');
      this._ul
        .querySelector<HTMLElement>(`[data-schedule-id="${id}"] [data-action="${action}"]`)
        ?.focus();
    }
    this._renderMessage();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.render();
  }

  private _renderMessage(): void {
    const { model, trans } = this._options;
    const message = this._message;
    message.replaceChildren();
    message.className = 'jp-mcp-ext-JobsList-message';
    const scheduler = model.scheduler;
    if (model.error) {
      message.classList.add('jp-mod-error');
      message.appendChild(paragraph(trans.__('Could not load the schedules: %1', model.error)));
    } else if (scheduler && !scheduler.running && model.schedules.length) {
      message.classList.add('jp-mod-warning');
      message.appendChild(paragraph(scheduler.message));
    }
    if (model.schedules.length || model.error) {
      message.hidden = !message.childElementCount;
      return;
    }
    message.hidden = false;
    if (!model.loaded) {
      message.appendChild(paragraph(trans.__('Loading schedules…')));
      return;
    }
    message.classList.add('jp-mcp-ext-JobsList-empty');
    message.appendChild(scheduleIcon.element({ tag: 'div', className: 'jp-mcp-ext-JobsList-emptyIcon' }));
    message.appendChild(paragraph(trans.__('No schedules yet'), 'jp-mcp-ext-JobsList-emptyTitle'));
    message.appendChild(
      paragraph(
        trans.__(
          'In “Run as Job…”, choose how often to repeat the notebook. Schedules your MCP client makes with manage_schedule show here too.'
        )
      )
    );
  }

  private _options: { model: SchedulesModel; actions: IScheduleActions; trans: TranslationBundle };
  private _ul: HTMLUListElement;
  private _message: HTMLDivElement;
}

/**
 * One schedule's list item.
 */
function scheduleRow(
  schedule: ISchedule,
  actions: IScheduleActions,
  trans: TranslationBundle
): HTMLLIElement {
  const node = element('li', `jp-mcp-ext-ScheduleRow jp-mod-${schedule.status}`);
  node.dataset.scheduleId = schedule.schedule_id;
  node.dataset.status = schedule.status;
  const name = baseName(schedule.notebook_path);

  const header = element('div', 'jp-mcp-ext-JobRow-header');
  header.appendChild(notebookIcon.element({ tag: 'span', className: 'jp-mcp-ext-JobRow-icon' }));
  const title = element('button', 'jp-mcp-ext-JobRow-name', name.replace(/\.ipynb$/i, ''));
  title.type = 'button';
  title.title = trans.__('%1 — open the notebook', schedule.notebook_path);
  title.dataset.action = 'open';
  title.addEventListener('click', () => actions.openInput(schedule));
  header.appendChild(title);
  const badge = element('span', `jp-mcp-ext-JobStatus jp-mcp-ext-ScheduleStatus jp-mod-${schedule.status}`);
  badge.textContent =
    schedule.status === 'active'
      ? trans.__('Active')
      : schedule.status === 'paused'
        ? trans.__('Paused')
        : trans.__('Ended');
  header.appendChild(badge);
  node.appendChild(header);

  const when = element('div', 'jp-mcp-ext-ScheduleRow-when');
  when.textContent = trans.__('%1 · %2', schedule.description, schedule.timezone);
  when.title = trans.__('cron: %1 (%2)', schedule.cron, schedule.timezone);
  node.appendChild(when);

  const next = element('div', 'jp-mcp-ext-ScheduleRow-next');
  if (schedule.next_runs.length) {
    const now = new Date();
    next.appendChild(element('span', 'jp-mcp-ext-ScheduleRow-label', trans.__('Next')));
    const first = element('time', 'jp-mcp-ext-ScheduleRow-nextRun', formatRunTime(schedule.next_runs[0], now));
    first.setAttribute('datetime', schedule.next_runs[0]);
    next.appendChild(first);
    next.title = [
      trans.__('Next runs, in your time:'),
      ...schedule.next_runs.map(run => `${new Date(run).toLocaleString()}  (${run})`)
    ].join('\n');
  } else {
    next.textContent =
      schedule.status === 'paused' ? trans.__('Paused: no run until resumed') : trans.__('No run left');
  }
  node.appendChild(next);

  const last = schedule.last_runs[0];
  const lastNode = element('div', 'jp-mcp-ext-ScheduleRow-last');
  if (last) {
    lastNode.appendChild(element('span', 'jp-mcp-ext-ScheduleRow-label', trans.__('Last')));
    const status = element('span', `jp-mcp-ext-JobStatus jp-mod-${last.status}`, statusLabel(last.status, trans));
    lastNode.appendChild(status);
    const lastTime = element('button', 'jp-mcp-ext-ScheduleRow-lastRun', formatTime(last.created_at));
    lastTime.type = 'button';
    lastTime.dataset.action = 'last-output';
    lastTime.title = trans.__('Open the output notebook %1', last.output_path);
    lastTime.setAttribute('aria-label', trans.__('Last run %1: open its output notebook', statusLabel(last.status, trans)));
    lastTime.disabled = last.status === 'queued';
    lastTime.addEventListener('click', () => actions.openOutput(last.output_path));
    lastNode.appendChild(lastTime);
  } else {
    lastNode.textContent = trans.__('No run yet');
  }
  node.appendChild(lastNode);

  // A problem (a run that could not start, another server running the schedules) is said in full.
  const problem = schedule.message.replace(/^(Next run [^ ]+\.|Paused: it runs again once resumed\.|Ended: [^.]*\.)\s*/, '');
  if (problem || (last && (last.status === 'failed' || last.status === 'timeout'))) {
    const error = element('div', 'jp-mcp-ext-JobRow-error jp-mcp-ext-ScheduleRow-problem');
    error.textContent = problem || last?.message || '';
    error.title = error.textContent;
    node.appendChild(error);
  }

  const bar = element('div', 'jp-mcp-ext-JobRow-actions');
  bar.setAttribute('role', 'toolbar');
  bar.setAttribute('aria-label', trans.__('Actions of the schedule of %1', name));
  const button = (action: string, icon: LabIcon, label: string, onClick: () => void): void => {
    const b = element('button', `jp-mcp-ext-JobRow-action jp-mod-${action}`);
    b.type = 'button';
    b.title = label;
    b.dataset.action = action;
    b.setAttribute('aria-label', label);
    b.appendChild(icon.element({ tag: 'span' }));
    b.addEventListener('click', event => {
      event.stopPropagation();
      onClick();
    });
    bar.appendChild(b);
  };
  button('run-now', runIcon, trans.__('Run now'), () => actions.runNow(schedule));
  if (schedule.active) {
    button('pause', pauseIcon, trans.__('Pause the schedule'), () => actions.setActive(schedule, false));
  } else {
    button('resume', scheduleIcon, trans.__('Resume the schedule'), () => actions.setActive(schedule, true));
  }
  button('edit', editIcon, trans.__('Edit the schedule'), () => actions.edit(schedule));
  button('remove', deleteIcon, trans.__('Delete the schedule (its runs’ outputs stay)'), () => actions.remove(schedule));
  node.appendChild(bar);
  return node;
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

function paragraph(text: string, className = ''): HTMLParagraphElement {
  const p = element('p', className);
  p.textContent = text;
  return p;
}
