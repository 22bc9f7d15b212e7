/**
 * The Notebook Jobs plugin: the sidebar panel, "Run as Job…" (notebook toolbar,
 * command palette, file browser context menu), the log view and the notifications
 * of jobs that finish while the panel is not visible.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  MainAreaWidget,
  Notification,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { IFileBrowserFactory } from '@jupyterlab/filebrowser';
import { INotebookModel, INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { listIcon } from '@jupyterlab/ui-components';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';

import { actionButton } from '../toolbar';
import { errorMessage, IJob, ISchedule, JobsClient } from './api';
import { baseName } from './format';
import { jobsIcon } from './icons';
import { JobLogView } from './joblog';
import { IJobActions, statusLabel } from './jobrow';
import { JobsModel } from './model';
import { JobsPanel } from './panel';
import { PreviewFunction, RunJobDialog, RunJobForm, RunRequest } from './runjob';
import { IScheduleActions, SchedulesModel } from './schedules';

/**
 * The sidebar widget's id; also the `data-id` of its tab.
 */
export const JOBS_PANEL_ID = 'jupyter-mcp-ext-jobs-panel';

/**
 * The command ids of the Notebook Jobs plugin.
 */
export namespace JobCommandIDs {
  export const open = 'jupyter-mcp-ext:open-jobs';
  export const runAsJob = 'jupyter-mcp-ext:run-as-job';
}

export const jobsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-mcp-ext:jobs',
  description:
    'The Notebook Jobs panel: follow, cancel, open and start Papermill jobs, the ones MCP clients start included.',
  autoStart: true,
  optional: [
    ITranslator,
    ICommandPalette,
    ILayoutRestorer,
    INotebookTracker,
    IFileBrowserFactory
  ],
  activate: (
    app: JupyterFrontEnd,
    translator: ITranslator | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    notebooks: INotebookTracker | null,
    browsers: IFileBrowserFactory | null
  ): void => {
    const trans = (translator ?? nullTranslator).load('jupyter_mcp_ext');
    const { commands, serviceManager } = app;
    const model = new JobsModel({
      client: new JobsClient(serviceManager.serverSettings),
      events: serviceManager.events ?? null
    });

    const open = (path: string): void =>
      void commands.execute('docmanager:open', { path });
    const logs = new Map<string, MainAreaWidget<JobLogView>>();
    const showLog = (job: IJob): void => {
      let widget = logs.get(job.job_id);
      if (!widget || widget.isDisposed) {
        const content = new JobLogView({ model, jobId: job.job_id, trans });
        widget = new MainAreaWidget({ content });
        widget.id = `jupyter-mcp-ext-job-log-${job.job_id}`;
        widget.title.label = trans.__('Log: %1', baseName(job.notebook_path));
        widget.title.caption = trans.__('Log of job %1 (%2)', job.job_id, job.notebook_path);
        widget.title.icon = listIcon;
        widget.title.closable = true;
        widget.toolbar.addItem(
          'output',
          actionButton({
            label: trans.__('Open Output'),
            tooltip: trans.__('Open the output notebook %1', job.output_path),
            onClick: () => open(job.output_path)
          })
        );
        logs.set(job.job_id, widget);
        widget.disposed.connect(() => logs.delete(job.job_id));
        app.shell.add(widget, 'main');
      }
      app.shell.activateById(widget.id);
    };

    const actions: IJobActions = {
      openOutput: job => open(job.output_path),
      openInput: job => open(job.notebook_path),
      showLog,
      cancel: job => void cancelJob(model, job, trans),
      rerun: job =>
        void model.rerun(job.job_id).catch(error =>
          showErrorMessage(trans.__('Could not run the job again'), errorMessage(error))
        ),
      remove: job =>
        void model.remove(job.job_id).catch(error =>
          showErrorMessage(trans.__('Could not delete the job'), errorMessage(error))
        )
    };

    const schedules = new SchedulesModel({ client: model.client, jobs: model });
    const preview: PreviewFunction = (cron, timezone, path, init) =>
      model.client.previewSchedule(cron, timezone, path, init);
    /**
     * What the "Run as Job…" dialog asks for: a job, a new schedule, or a change of one.
     */
    const submit = async (request: RunRequest): Promise<IJob | ISchedule> => {
      if (request.kind === 'job') {
        return model.create(request.job);
      }
      const schedule =
        request.kind === 'schedule'
          ? await model.client.createSchedule(request.schedule)
          : await model.client.updateSchedule(request.scheduleId, request.schedule);
      schedules.store(schedule);
      return schedule;
    };
    const showSchedules = (): void => {
      app.shell.activateById(JOBS_PANEL_ID);
      panel.view = 'schedules';
    };
    const scheduleActions: IScheduleActions = {
      openInput: schedule => open(schedule.notebook_path),
      openOutput: path => open(path),
      runNow: schedule =>
        void model.client.runSchedule(schedule.schedule_id).then(
          result => {
            schedules.store(result.schedule);
            if (result.job?.status === 'failed') {
              void showErrorMessage(trans.__('The run could not start'), result.message);
            }
          },
          error => showErrorMessage(trans.__('Could not run the schedule'), errorMessage(error))
        ),
      setActive: (schedule, active) =>
        void model.client.updateSchedule(schedule.schedule_id, { active }).then(
          updated => schedules.store(updated),
          error =>
            showErrorMessage(
              active ? trans.__('Could not resume the schedule') : trans.__('Could not pause the schedule'),
              errorMessage(error)
            )
        ),
      edit: schedule => void editSchedule(schedule),
      remove: schedule => void removeSchedule(schedule)
    };
    const editSchedule = async (schedule: ISchedule): Promise<void> => {
      let defaults;
      try {
        defaults = await model.client.notebookParameters(schedule.notebook_path);
      } catch (error) {
        await showErrorMessage(trans.__('Cannot edit the schedule of %1', schedule.notebook_path), errorMessage(error));
        return;
      }
      const form = new RunJobForm(defaults, trans, { schedule, preview });
      await new RunJobDialog({ defaults, form, trans, submit, editing: true }).launch();
    };
    const removeSchedule = async (schedule: ISchedule): Promise<void> => {
      const result = await showDialog({
        title: trans.__('Delete the schedule?'),
        body: trans.__(
          'The schedule of %1 (%2) stops for good. The jobs it ran and their output notebooks stay.',
          baseName(schedule.notebook_path),
          schedule.description
        ),
        buttons: [Dialog.cancelButton({ label: trans.__('Keep') }), Dialog.warnButton({ label: trans.__('Delete') })]
      });
      if (!result.button.accept) {
        return;
      }
      try {
        await model.client.removeSchedule(schedule.schedule_id);
        schedules.forget(schedule.schedule_id);
      } catch (error) {
        await showErrorMessage(trans.__('Could not delete the schedule'), errorMessage(error));
      }
    };

    const panel = new JobsPanel({
      model,
      actions,
      schedules,
      scheduleActions,
      trans,
      translator: translator ?? undefined
    });
    panel.id = JOBS_PANEL_ID;
    panel.title.icon = jobsIcon;
    app.shell.add(panel, 'left', { rank: 1010 });
    restorer?.add(panel, JOBS_PANEL_ID);

    // A job that ends while nobody looks at the panel is announced; so is a scheduled
    // run that fails, always (nobody started it: nobody watches it).
    model.jobFinished.connect((_, job) => {
      const failed = job.status === 'failed' || job.status === 'timeout';
      const scheduled = !!job.schedule_id;
      if (panel.isVisible && !(scheduled && failed)) {
        return;
      }
      const name = baseName(job.notebook_path);
      const ok = job.status === 'completed';
      const message = scheduled
        ? failed
          ? trans.__('Scheduled run of %1 %2: %3', name, statusLabel(job.status, trans).toLowerCase(), job.message ?? '')
          : trans.__('Scheduled run of %1 %2.', name, statusLabel(job.status, trans).toLowerCase())
        : failed
          ? trans.__('Job %1 %2: %3', name, statusLabel(job.status, trans).toLowerCase(), job.message ?? '')
          : trans.__('Job %1 %2.', name, statusLabel(job.status, trans).toLowerCase());
      Notification.emit(message, ok ? 'success' : job.status === 'cancelled' ? 'info' : 'error', {
        autoClose: ok ? 10000 : false,
        actions: [
          {
            label: trans.__('Open Output'),
            caption: trans.__('Open %1', job.output_path),
            callback: () => open(job.output_path)
          },
          scheduled
            ? {
                label: trans.__('Show Schedules'),
                caption: trans.__('Show the schedules in the Notebook Jobs panel'),
                displayType: 'link',
                callback: showSchedules
              }
            : {
                label: trans.__('Show Jobs'),
                caption: trans.__('Show the Notebook Jobs panel'),
                displayType: 'link',
                callback: () => app.shell.activateById(JOBS_PANEL_ID)
              }
        ]
      });
    });
    // Load the list once, so that jobs running now are followed from the start.
    void model.refresh();

    commands.addCommand(JobCommandIDs.open, {
      label: trans.__('Show Notebook Jobs'),
      caption: trans.__('Show the notebook jobs, the ones MCP clients started included'),
      icon: jobsIcon,
      execute: () => app.shell.activateById(JOBS_PANEL_ID)
    });

    /**
     * The notebook a "Run as Job…" invocation is about: its `path` argument, the
     * file browser's selection (context menu), or the current notebook.
     */
    const targetPath = (args: { [key: string]: unknown }): string | null => {
      if (typeof args.path === 'string' && args.path) {
        return args.path;
      }
      if (args.fromFileBrowser && browsers) {
        const browser = browsers.tracker.currentWidget;
        const item = browser?.selectedItems().next();
        const selected = item && !item.done ? item.value : null;
        return selected && selected.type === 'notebook' ? selected.path : null;
      }
      const current = notebooks?.currentWidget;
      return current && app.shell.currentWidget === current ? current.context.path : null;
    };

    commands.addCommand(JobCommandIDs.runAsJob, {
      label: trans.__('Run as Job…'),
      caption: trans.__('Run the notebook with Papermill as a job, with parameters'),
      icon: args => (args.fromFileBrowser || args.toolbar ? jobsIcon : undefined),
      isEnabled: args => targetPath(args) !== null,
      execute: async args => {
        const path = targetPath(args);
        if (!path) {
          return;
        }
        // A job runs the file on disk: save the notebook's unsaved changes first, as
        // "Save and Export Notebook As" does.
        const openNotebook = notebooks?.find(widget => widget.context.path === path);
        if (openNotebook?.context.model.dirty && !openNotebook.context.model.readOnly) {
          await openNotebook.context.save();
        }
        let defaults;
        try {
          defaults = await model.client.notebookParameters(path);
        } catch (error) {
          await showErrorMessage(trans.__('Cannot run %1 as a job', path), errorMessage(error));
          return;
        }
        const form = new RunJobForm(defaults, trans, { preview });
        const dialog = new RunJobDialog({ defaults, form, trans, submit });
        await dialog.launch();
        if (dialog.job && 'schedule_id' in dialog.job && !('job_id' in dialog.job)) {
          showSchedules();
        } else if (dialog.job) {
          app.shell.activateById(JOBS_PANEL_ID);
          panel.view = 'jobs';
        }
      }
    });

    palette?.addItem({ command: JobCommandIDs.open, category: trans.__('Notebook Jobs') });
    palette?.addItem({ command: JobCommandIDs.runAsJob, category: trans.__('Notebook Jobs') });
    app.contextMenu.addItem({
      command: JobCommandIDs.runAsJob,
      args: { fromFileBrowser: true },
      selector: '.jp-DirListing-item[data-file-type="notebook"]',
      rank: 3
    });
    app.docRegistry.addWidgetExtension('Notebook', new RunAsJobButton(app, trans));
  }
};

/**
 * Ask, then cancel a job; the server's refusal (e.g. it ended meanwhile) is shown.
 */
async function cancelJob(model: JobsModel, job: IJob, trans: TranslationBundle): Promise<void> {
  const name = baseName(job.notebook_path);
  const result = await showDialog({
    title: trans.__('Cancel the job?'),
    body:
      job.status === 'queued'
        ? trans.__('The job of %1 is queued; cancelling it means it never starts.', name)
        : trans.__(
            'The job of %1 is running: its kernel is stopped within about 10 seconds. The output notebook keeps the cells run so far.',
            name
          ),
    buttons: [
      Dialog.cancelButton({ label: trans.__('Keep Running') }),
      Dialog.warnButton({ label: trans.__('Cancel Job') })
    ]
  });
  if (!result.button.accept) {
    return;
  }
  try {
    await model.cancel(job.job_id);
  } catch (error) {
    await showErrorMessage(trans.__('Could not cancel the job'), errorMessage(error));
  }
}

/**
 * The "Run as Job…" button of every notebook's toolbar.
 */
class RunAsJobButton implements DocumentRegistry.IWidgetExtension<NotebookPanel, INotebookModel> {
  constructor(
    private _app: JupyterFrontEnd,
    private _trans: TranslationBundle
  ) {}

  createNew(panel: NotebookPanel): IDisposable {
    const button = actionButton({
      className: 'jp-mcp-ext-RunAsJobButton',
      icon: jobsIcon,
      tooltip: this._trans.__('Run as Job…'),
      onClick: () =>
        void this._app.commands.execute(JobCommandIDs.runAsJob, {
          path: panel.context.path,
          toolbar: true
        })
    });
    button.node.setAttribute('aria-label', this._trans.__('Run as Job…'));
    if (!panel.toolbar.insertAfter('cellType', 'runAsJob', button)) {
      panel.toolbar.addItem('runAsJob', button);
    }
    return new DisposableDelegate(() => button.dispose());
  }
}
