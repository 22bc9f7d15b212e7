/**
 * The Notebook Jobs sidebar panel: two views, the jobs (a status filter, the
 * jobs newest first, and an empty state that says how to start one) and the
 * schedules (schedules.ts).
 */
import { TranslationBundle } from '@jupyterlab/translation';
import {
  caretDownEmptyIcon,
  refreshIcon,
  SidePanel,
  Toolbar
} from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { Panel, Widget } from '@lumino/widgets';

import { actionButton } from '../toolbar';
import { isActive, JOB_STATUSES, JobStatus } from './api';
import { jobsIcon, scheduleIcon } from './icons';
import { IJobActions, JobRow, statusLabel } from './jobrow';
import { JobsModel } from './model';
import { IScheduleActions, SchedulesList, SchedulesModel } from './schedules';

/**
 * The views of the panel.
 */
export type JobsView = 'jobs' | 'schedules';

/**
 * The sidebar panel of notebook jobs.
 */
export class JobsPanel extends SidePanel {
  constructor(options: JobsPanel.IOptions) {
    // One list, no accordion: a section title would only repeat the panel's name.
    super({ content: new Panel(), translator: options.translator });
    const trans = options.trans;
    this.model = options.model;
    this.addClass('jp-mcp-ext-JobsPanel');
    this.title.caption = trans.__('Notebook Jobs');

    const heading = document.createElement('h2');
    heading.textContent = trans.__('Notebook Jobs');
    heading.className = 'jp-text-truncated';
    this.header.addWidget(new Widget({ node: heading }));

    this.schedules = options.schedules;
    this._switch = new ViewSwitch(trans, view => (this.view = view));
    this.toolbar.addItem('view', this._switch);
    this._filter = new StatusFilter(trans);
    this._filter.changed = () => this._list.render();
    this.toolbar.addItem('status-filter', this._filter);
    this.toolbar.addItem('spacer', Toolbar.createSpacerItem());
    this.toolbar.addItem(
      'refresh',
      actionButton({
        icon: refreshIcon,
        tooltip: trans.__('Reload from the server'),
        onClick: () =>
          void (this._view === 'jobs' ? this.model.refresh() : this.schedules.refresh())
      })
    );
    this.toolbar.node.setAttribute('aria-label', trans.__('Notebook Jobs toolbar'));

    this._list = new JobsList({
      model: this.model,
      actions: options.actions,
      trans,
      status: () => this._filter.value,
      showAll: () => {
        this._filter.value = '';
        this._list.render();
      }
    });
    this.addWidget(this._list);
    this._schedulesList = new SchedulesList({
      model: this.schedules,
      actions: options.scheduleActions,
      trans
    });
    this._schedulesList.hide();
    this.addWidget(this._schedulesList);
    this.content.addClass('jp-mcp-ext-JobsPanel-content');

    this.model.changed.connect(this._onModelChanged, this);
  }

  readonly model: JobsModel;
  readonly schedules: SchedulesModel;

  /**
   * The view shown: the jobs, or the schedules.
   */
  get view(): JobsView {
    return this._view;
  }

  set view(view: JobsView) {
    if (view === this._view) {
      return;
    }
    this._view = view;
    this._switch.value = view;
    this._filter.setHidden(view !== 'jobs');
    this._list.setHidden(view !== 'jobs');
    this._schedulesList.setHidden(view !== 'schedules');
    this.schedules.watching = this.isVisible && view === 'schedules';
  }

  dispose(): void {
    window.clearInterval(this._tick);
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.model.refresh();
    this._onModelChanged();
    this.schedules.watching = this._view === 'schedules';
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    if (this.isVisible) {
      void this.model.refresh();
    }
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this._updateTicking();
    this.schedules.watching = false;
  }

  private _onModelChanged(): void {
    this._filter.setCounts(this.model.counts);
    this._updateTicking();
    if (this.isVisible) {
      this._list.render();
    }
  }

  /**
   * Durations of running jobs tick once a second, only while they are visible.
   */
  private _updateTicking(): void {
    const running =
      this.isVisible && this.model.jobs.some(job => job.status === 'running');
    if (running && !this._tick) {
      this._tick = window.setInterval(() => this._list.tick(), 1000);
    } else if (!running && this._tick) {
      window.clearInterval(this._tick);
      this._tick = 0;
    }
  }

  private _filter: StatusFilter;
  private _list: JobsList;
  private _schedulesList: SchedulesList;
  private _switch: ViewSwitch;
  private _view: JobsView = 'jobs';
  private _tick = 0;
}

/**
 * A namespace for JobsPanel statics.
 */
export namespace JobsPanel {
  export interface IOptions {
    model: JobsModel;
    actions: IJobActions;
    schedules: SchedulesModel;
    scheduleActions: IScheduleActions;
    trans: TranslationBundle;
    translator?: SidePanel.IOptions['translator'];
  }
}

/**
 * The switch between the two views: two toggle buttons (`aria-pressed`).
 */
class ViewSwitch extends Widget {
  constructor(trans: TranslationBundle, select: (view: JobsView) => void) {
    super();
    this.addClass('jp-mcp-ext-ViewSwitch');
    this.node.setAttribute('role', 'group');
    this.node.setAttribute('aria-label', trans.__('Show'));
    const views: [JobsView, string, typeof jobsIcon][] = [
      ['jobs', trans.__('Jobs'), jobsIcon],
      ['schedules', trans.__('Schedules'), scheduleIcon]
    ];
    for (const [view, label, icon] of views) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'jp-mcp-ext-ViewSwitch-button';
      button.dataset.view = view;
      button.appendChild(icon.element({ tag: 'span', className: 'jp-mcp-ext-ViewSwitch-icon' }));
      button.appendChild(document.createTextNode(label));
      button.addEventListener('click', () => select(view));
      // The toolbar would take the focus back otherwise.
      button.addEventListener('focus', event => event.stopPropagation());
      this._buttons.push(button);
      this.node.appendChild(button);
    }
    this.value = 'jobs';
  }

  set value(view: JobsView) {
    for (const button of this._buttons) {
      button.setAttribute('aria-pressed', String(button.dataset.view === view));
    }
  }

  private _buttons: HTMLButtonElement[] = [];
}

/**
 * The status filter: a select styled as JupyterLab's own (`HTMLSelect`), with counts.
 */
class StatusFilter extends Widget {
  constructor(trans: TranslationBundle) {
    super();
    this._trans = trans;
    this.addClass('jp-mcp-ext-JobsFilter');
    const wrapper = document.createElement('div');
    wrapper.className = 'jp-HTMLSelect jp-DefaultStyle jp-ToolbarButtonComponent';
    const select = (this._select = document.createElement('select'));
    select.setAttribute('aria-label', trans.__('Show jobs with status'));
    select.title = trans.__('Show jobs with status');
    select.appendChild(new Option(trans.__('All jobs'), ''));
    for (const status of JOB_STATUSES) {
      select.appendChild(new Option(statusLabel(status, trans), status));
    }
    select.addEventListener('change', () => this.changed());
    // The toolbar would take the focus back otherwise.
    select.addEventListener('focus', event => event.stopPropagation());
    wrapper.appendChild(select);
    wrapper.appendChild(
      caretDownEmptyIcon.element({
        tag: 'span',
        stylesheet: 'select',
        right: '4px',
        top: '5px'
      })
    );
    this.node.appendChild(wrapper);
  }

  changed: () => void = () => undefined;

  get value(): JobStatus | '' {
    return this._select.value as JobStatus | '';
  }

  set value(value: JobStatus | '') {
    this._select.value = value;
  }

  setCounts(counts: { [status: string]: number | undefined }): void {
    const trans = this._trans;
    for (const option of Array.from(this._select.options)) {
      const status = option.value as JobStatus | '';
      const count = status ? (counts[status] ?? 0) : (counts.total ?? 0);
      const label = status ? statusLabel(status, trans) : trans.__('All jobs');
      option.text = trans.__('%1 (%2)', label, count);
    }
  }

  private _select: HTMLSelectElement;
  private _trans: TranslationBundle;
}

/**
 * The list of jobs; rows are kept per job and updated in place.
 */
class JobsList extends Widget {
  constructor(options: {
    model: JobsModel;
    actions: IJobActions;
    trans: TranslationBundle;
    status: () => JobStatus | '';
    showAll: () => void;
  }) {
    super();
    this._options = options;
    this.title.label = options.trans.__('Jobs');
    this.addClass('jp-mcp-ext-JobsList');
    this._ul = document.createElement('ul');
    this._ul.className = 'jp-mcp-ext-JobsList-items';
    this._ul.setAttribute('aria-label', options.trans.__('Notebook jobs'));
    this._message = document.createElement('div');
    this._message.className = 'jp-mcp-ext-JobsList-message';
    this._message.setAttribute('role', 'status');
    this.node.appendChild(this._message);
    this.node.appendChild(this._ul);
  }

  /**
   * Render the model's jobs (those of the selected status).
   */
  render(): void {
    const { model, actions, trans } = this._options;
    const status = this._options.status();
    const jobs = model.jobs.filter(job => !status || job.status === status);
    const keep = new Set(jobs.map(job => job.job_id));
    for (const [jobId, row] of this._rows) {
      if (!keep.has(jobId)) {
        row.node.remove();
        this._rows.delete(jobId);
      }
    }
    let previous: HTMLElement | null = null;
    for (const job of jobs) {
      let row = this._rows.get(job.job_id);
      if (row) {
        if (row.job !== job) {
          row.update(job);
        }
      } else {
        row = new JobRow(job, actions, trans);
        this._rows.set(job.job_id, row);
      }
      const expected: ChildNode | null = previous ? previous.nextSibling : this._ul.firstChild;
      if (expected !== row.node) {
        this._ul.insertBefore(row.node, expected);
      }
      previous = row.node;
    }
    this._renderMessage(jobs.length, status);
  }

  /**
   * Move the durations of running jobs on.
   */
  tick(): void {
    const now = Date.now() / 1000;
    for (const row of this._rows.values()) {
      if (isActive(row.job.status)) {
        row.update(row.job, now);
      }
    }
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.render();
  }

  private _renderMessage(shown: number, status: JobStatus | ''): void {
    const { model, trans } = this._options;
    const message = this._message;
    message.replaceChildren();
    message.className = 'jp-mcp-ext-JobsList-message';
    if (model.error) {
      message.classList.add('jp-mod-error');
      message.appendChild(
        paragraph(trans.__('Could not load the jobs: %1', model.error))
      );
    }
    if (shown) {
      message.hidden = !model.error;
      return;
    }
    message.hidden = false;
    if (!model.loaded) {
      message.appendChild(paragraph(trans.__('Loading jobs…')));
      return;
    }
    if (status && model.jobs.length) {
      message.appendChild(
        paragraph(trans.__('No %1 jobs.', statusLabel(status, trans).toLowerCase()))
      );
      const all = document.createElement('button');
      all.className = 'jp-mcp-ext-JobsList-showAll';
      all.textContent = trans.__('Show all jobs');
      all.addEventListener('click', () => this._options.showAll());
      message.appendChild(all);
      return;
    }
    if (model.error) {
      return;
    }
    message.classList.add('jp-mcp-ext-JobsList-empty');
    message.appendChild(
      jobsIcon.element({ tag: 'div', className: 'jp-mcp-ext-JobsList-emptyIcon' })
    );
    message.appendChild(paragraph(trans.__('No notebook jobs yet'), 'jp-mcp-ext-JobsList-emptyTitle'));
    message.appendChild(
      paragraph(
        trans.__(
          'Right-click a notebook in the file browser and choose “Run as Job…”, or use the button in a notebook’s toolbar. Jobs your MCP client starts with execute_notebook show here too.'
        )
      )
    );
  }

  private _options: {
    model: JobsModel;
    actions: IJobActions;
    trans: TranslationBundle;
    status: () => JobStatus | '';
    showAll: () => void;
  };
  private _ul: HTMLUListElement;
  private _message: HTMLDivElement;
  private _rows = new Map<string, JobRow>();
}

function paragraph(text: string, className = ''): HTMLParagraphElement {
  const p = document.createElement('p');
  p.textContent = text;
  if (className) {
    p.className = className;
  }
  return p;
}
