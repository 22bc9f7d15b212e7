/**
 * The "Run as Job…" dialog: a notebook's parameters (prefilled from its
 * `parameters` cell as Papermill infers them), the kernel, the output path, the
 * timeout, and whether to run it once or repeat it on a schedule (presets or a
 * cron expression, with the next run times shown as they are chosen). It stays
 * open and shows the server's message when the job or schedule is refused. The
 * same form edits a schedule.
 */
import { Dialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Styling } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import {
  errorMessage,
  IJob,
  IJobRequest,
  INotebookParameters,
  ISchedule,
  IScheduleRequest,
  ISchedulePreview
} from './api';
import {
  baseName,
  cronToRepeat,
  formatRunTime,
  initialText,
  IRepeat,
  parseValue,
  RepeatKind,
  repeatToCron,
  ValueKind,
  valueKind
} from './format';

/**
 * What the dialog asks for: a job now, a new schedule, or a change of a schedule.
 */
export type RunRequest =
  | { kind: 'job'; job: IJobRequest }
  | { kind: 'schedule'; schedule: IScheduleRequest }
  | { kind: 'update'; scheduleId: string; schedule: IScheduleRequest };

/**
 * Asks the server for the next run times of a cron expression (`GET schedules/preview`).
 */
export type PreviewFunction = (
  cron: string,
  timezone: string,
  notebookPath: string,
  init: RequestInit
) => Promise<ISchedulePreview>;

/**
 * The browser's IANA time zone, the default of a new schedule's.
 */
export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/**
 * One parameter's field and how to read it.
 */
interface IField {
  name: string;
  kind: ValueKind;
  initial: string;
  input: HTMLInputElement | HTMLSelectElement;
  error: HTMLElement;
}

/**
 * The dialog's body: a form of the job's arguments.
 */
export class RunJobForm extends Widget {
  constructor(
    defaults: INotebookParameters,
    trans: TranslationBundle,
    options: { schedule?: ISchedule | null; preview?: PreviewFunction } = {}
  ) {
    super({ node: document.createElement('form') });
    this._defaults = defaults;
    this._trans = trans;
    this._schedule = options.schedule ?? null;
    this._preview = options.preview ?? null;
    this.addClass('jp-mcp-ext-RunJob');
    const form = this.node as HTMLFormElement;
    form.noValidate = true;
    // Enter submits through the dialog's default button, never as a page navigation.
    form.addEventListener('submit', event => event.preventDefault());

    const params = section(trans.__('Parameters'));
    if (!defaults.parameters.length) {
      params.appendChild(
        note(
          defaults.has_parameters_cell
            ? trans.__('The cell tagged “parameters” assigns nothing Papermill can read.')
            : trans.__(
                'This notebook has no cell tagged “parameters”: the job runs it as it is. Tag a cell “parameters” to set its values here.'
              )
        )
      );
    }
    for (const parameter of defaults.parameters) {
      const kind = valueKind(parameter.inferred_type_name, parameter.value, parameter.has_value);
      const initial = initialText(kind, parameter.value, parameter.has_value, parameter.default);
      const scheduled = this._schedule?.parameters ?? {};
      const current = Object.prototype.hasOwnProperty.call(scheduled, parameter.name)
        ? initialText(kind, scheduled[parameter.name], true, '')
        : initial;
      const id = `jp-mcp-ext-param-${this._uid}-${parameter.name}`;
      const row = document.createElement('div');
      row.className = 'jp-mcp-ext-RunJob-field';
      const label = document.createElement('label');
      label.htmlFor = id;
      label.className = 'jp-mcp-ext-RunJob-label';
      const nameNode = document.createElement('span');
      nameNode.className = 'jp-mcp-ext-RunJob-name';
      nameNode.textContent = parameter.name;
      const typeNode = document.createElement('span');
      typeNode.className = 'jp-mcp-ext-RunJob-type';
      typeNode.textContent = parameter.inferred_type_name ?? kindLabel(kind, trans);
      label.append(nameNode, typeNode);
      row.appendChild(label);

      let input: HTMLInputElement | HTMLSelectElement;
      if (kind === 'bool') {
        const select = document.createElement('select');
        select.append(new Option('True', 'true'), new Option('False', 'false'));
        select.value = current;
        input = select;
        row.appendChild(wrapSelect(select));
      } else {
        const text = document.createElement('input');
        text.type = 'text';
        text.value = current;
        text.spellcheck = false;
        text.className = 'jp-mod-styled';
        if (kind === 'int' || kind === 'float') {
          text.inputMode = kind === 'int' ? 'numeric' : 'decimal';
        }
        input = text;
        row.appendChild(text);
      }
      input.id = id;
      input.name = parameter.name;
      input.dataset.parameter = parameter.name;
      const help = [parameter.help, parameter.has_value ? '' : trans.__('default: %1 (an expression; kept unless changed)', parameter.default)]
        .filter(Boolean)
        .join(' — ');
      const error = document.createElement('div');
      error.className = 'jp-mcp-ext-RunJob-fieldError';
      error.id = `${id}-error`;
      error.setAttribute('aria-live', 'polite');
      if (help) {
        const helpNode = document.createElement('div');
        helpNode.className = 'jp-mcp-ext-RunJob-help';
        helpNode.id = `${id}-help`;
        helpNode.textContent = help;
        row.appendChild(helpNode);
        input.setAttribute('aria-describedby', `${id}-help ${id}-error`);
      } else {
        input.setAttribute('aria-describedby', `${id}-error`);
      }
      row.appendChild(error);
      const field: IField = { name: parameter.name, kind, initial, input, error };
      input.addEventListener('input', () => this._check(field));
      input.addEventListener('change', () => this._check(field));
      this._fields.push(field);
      params.appendChild(row);
    }
    if (defaults.parameters.length) {
      params.appendChild(
        note(trans.__('Only changed values are injected; the others keep the notebook’s defaults.'))
      );
    }
    form.appendChild(params);
    // When before how: the next runs show right under the notebook's parameters.
    const repeatSection = this._repeatSection();
    form.appendChild(repeatSection);

    const run = section(trans.__('Run'));
    this._kernel = document.createElement('select');
    for (const spec of defaults.kernelspecs) {
      this._kernel.appendChild(new Option(spec.display_name, spec.name));
    }
    const kernel = this._schedule?.kernel_name ?? defaults.kernel_name;
    if (kernel) {
      this._kernel.value = kernel;
    } else {
      this._kernel.prepend(new Option(trans.__('Choose a kernel'), ''));
      this._kernel.value = '';
    }
    run.appendChild(labelled(trans.__('Kernel'), 'kernel', wrapSelect(this._kernel), this._kernel, this._uid));

    this._output = document.createElement('input');
    this._output.type = 'text';
    this._output.className = 'jp-mod-styled';
    this._output.value = this._schedule?.output_path ?? defaults.output_path;
    this._output.spellcheck = false;
    this._output.addEventListener('input', () => {
      this._outputEdited = true;
      this._schedulePreview();
    });
    const outputRow = labelled(trans.__('Output'), 'output', this._output, this._output, this._uid);
    this._outputHelp = help(trans.__('The executed notebook, relative to the server root.'), this._output);
    outputRow.appendChild(this._outputHelp);
    run.appendChild(outputRow);

    this._timeout = document.createElement('input');
    this._timeout.type = 'number';
    this._timeout.min = '0';
    this._timeout.step = 'any';
    this._timeout.className = 'jp-mod-styled';
    this._timeout.value = String(this._schedule?.timeout_seconds ?? defaults.timeout_seconds);
    const timeoutRow = labelled(trans.__('Timeout'), 'timeout', this._timeout, this._timeout, this._uid);
    timeoutRow.appendChild(help(trans.__('Seconds for the whole run; 0 means no limit.'), this._timeout));
    run.appendChild(timeoutRow);
    form.appendChild(run);

    this._serverError = document.createElement('div');
    this._serverError.className = 'jp-mcp-ext-RunJob-error';
    this._serverError.setAttribute('role', 'alert');
    this._serverError.hidden = true;
    form.appendChild(this._serverError);
  }

  /**
   * What to ask the server for, or null (with the fields' errors shown) when a value is not valid.
   */
  getValue(): RunRequest | null {
    const job = this._jobValue();
    if (!job) {
      return null;
    }
    const cron = this.cron;
    if (!this.repeats) {
      return { kind: 'job', job };
    }
    if (cron === null) {
      this._cronInput.setAttribute('aria-invalid', 'true');
      this._cronInput.classList.add('jp-mod-error');
      return null;
    }
    this._cronInput.classList.remove('jp-mod-error');
    const output = this._output.value.trim();
    const schedule: IScheduleRequest = {
      cron,
      timezone: this._timezone.value.trim() || 'UTC',
      parameters: { ...this._extraParameters(), ...(job.parameters ?? {}) },
      kernel_name: job.kernel_name,
      output_path: output && output !== this._defaultTemplate ? output : null,
      timeout_seconds: job.timeout_seconds
    };
    if (this._schedule) {
      return { kind: 'update', scheduleId: this._schedule.schedule_id, schedule };
    }
    return { kind: 'schedule', schedule: { notebook_path: this._defaults.notebook_path, ...schedule } };
  }

  /**
   * The cron expression of the Repeat choice, or null when the notebook runs once.
   */
  get cron(): string | null {
    return repeatToCron(this._repeatValue());
  }

  /**
   * Whether the Repeat choice is a schedule (not "once").
   */
  get repeats(): boolean {
    return (this._repeatKind?.value ?? 'once') !== 'once';
  }

  /**
   * Called when the Repeat choice changes between "once" and a schedule (the
   * dialog then names its button).
   */
  repeatChanged: () => void = () => undefined;

  dispose(): void {
    window.clearTimeout(this._previewTimer);
    this._previewAbort?.abort();
    super.dispose();
  }

  /**
   * Parameters of the schedule that the notebook's parameters cell does not list (kept as they are).
   */
  private _extraParameters(): { [name: string]: unknown } {
    const shown = new Set(this._fields.map(field => field.name));
    const extra: { [name: string]: unknown } = {};
    for (const [name, value] of Object.entries(this._schedule?.parameters ?? {})) {
      if (!shown.has(name)) {
        extra[name] = value;
      }
    }
    return extra;
  }

  private _jobValue(): IJobRequest | null {
    let valid = true;
    const parameters: { [name: string]: unknown } = {};
    for (const field of this._fields) {
      const parsed = this._check(field);
      if (!parsed.ok) {
        valid = false;
      } else if (field.input.value !== field.initial) {
        parameters[field.name] = parsed.value;
      }
    }
    const timeout = Number(this._timeout.value);
    if (this._timeout.value.trim() === '' || !isFinite(timeout) || timeout < 0) {
      valid = false;
      this._timeout.classList.add('jp-mod-error');
    } else {
      this._timeout.classList.remove('jp-mod-error');
    }
    if (!valid) {
      return null;
    }
    const output = this._output.value.trim();
    return {
      notebook_path: this._defaults.notebook_path,
      parameters,
      kernel_name: this._kernel.value || null,
      output_path: output && output !== this._defaults.output_path ? output : null,
      timeout_seconds: timeout
    };
  }

  /**
   * Show the server's answer to a refused job.
   */
  showError(message: string): void {
    this._serverError.textContent = message;
    this._serverError.hidden = !message;
  }

  /**
   * Called after a field's validity was checked (the dialog then enables or
   * disables its Run button).
   */
  validityChanged: () => void = () => undefined;

  private _check(field: IField): ReturnType<typeof parseValue> {
    const parsed = parseValue(field.kind, field.input.value);
    field.input.classList.toggle('jp-mod-error', !parsed.ok);
    field.input.setAttribute('aria-invalid', String(!parsed.ok));
    field.error.textContent = parsed.ok ? '' : this._problem(parsed.error);
    this.validityChanged();
    return parsed;
  }

  private _problem(kind: 'int' | 'float' | 'bool' | 'json'): string {
    const trans = this._trans;
    switch (kind) {
      case 'int':
        return trans.__('Enter a whole number, e.g. 10.');
      case 'float':
        return trans.__('Enter a number, e.g. 0.5.');
      case 'bool':
        return trans.__('Choose True or False.');
      case 'json':
        return trans.__('Enter a JSON value, e.g. [1, 2] or {"a": 1}.');
    }
  }

  /**
   * The Repeat section: once (default) or a schedule, its time zone, and the
   * next run times, asked of the server as they change.
   */
  private _repeatSection(): HTMLFieldSetElement {
    const trans = this._trans;
    const uid = this._uid;
    const repeat = section(trans.__('Repeat'));
    repeat.classList.add('jp-mcp-ext-RunJob-repeat');
    const initial: IRepeat = this._schedule ? cronToRepeat(this._schedule.cron) : { kind: 'once' };

    const kind = (this._repeatKind = document.createElement('select'));
    const kinds: [RepeatKind, string][] = [
      ['once', trans.__('Once, now')],
      ['hourly', trans.__('Hourly')],
      ['daily', trans.__('Daily at…')],
      ['weekdays', trans.__('Weekdays at…')],
      ['weekly', trans.__('Weekly on…')],
      ['custom', trans.__('Custom (cron)')]
    ];
    for (const [value, label] of kinds) {
      if (value !== 'once' || !this._schedule) {
        kind.appendChild(new Option(label, value));
      }
    }
    kind.value = initial.kind;
    repeat.appendChild(labelled(trans.__('Repeat'), 'repeat', wrapSelect(kind), kind, uid));

    const minute = (this._minute = document.createElement('input'));
    minute.type = 'number';
    minute.min = '0';
    minute.max = '59';
    minute.className = 'jp-mod-styled';
    minute.value = String(initial.minute ?? 0);
    const minuteRow = labelled(trans.__('At minute'), 'minute', minute, minute, uid);

    const day = (this._day = document.createElement('select'));
    const days = [
      trans.__('Sunday'),
      trans.__('Monday'),
      trans.__('Tuesday'),
      trans.__('Wednesday'),
      trans.__('Thursday'),
      trans.__('Friday'),
      trans.__('Saturday')
    ];
    days.forEach((name, index) => day.appendChild(new Option(name, String(index))));
    day.value = String(initial.day ?? 1);
    const dayRow = labelled(trans.__('On'), 'day', wrapSelect(day), day, uid);

    const clock = (this._time = document.createElement('input'));
    clock.type = 'time';
    clock.className = 'jp-mod-styled';
    clock.value = initial.time ?? '07:00';
    const timeRow = labelled(trans.__('At'), 'time', clock, clock, uid);

    const cron = (this._cronInput = document.createElement('input'));
    cron.type = 'text';
    cron.className = 'jp-mod-styled jp-mcp-ext-RunJob-cron';
    cron.spellcheck = false;
    cron.placeholder = '0 7 * * 1-5';
    cron.value = initial.cron ?? '';
    const cronRow = labelled(trans.__('Cron'), 'cron', cron, cron, uid);
    cronRow.appendChild(
      help(trans.__('Five fields: minute hour day-of-month month day-of-week, e.g. 0 7 * * 1-5.'), cron)
    );

    const zone = (this._timezone = document.createElement('input'));
    zone.type = 'text';
    zone.className = 'jp-mod-styled';
    zone.spellcheck = false;
    zone.value = this._schedule?.timezone ?? browserTimeZone();
    const zoneRow = labelled(trans.__('Time zone'), 'timezone', zone, zone, uid);
    zoneRow.appendChild(help(trans.__('An IANA name, e.g. Europe/Paris; times above are in it.'), zone));

    const preview = (this._previewNode = document.createElement('div'));
    preview.className = 'jp-mcp-ext-RunJob-preview';
    preview.setAttribute('aria-live', 'polite');
    preview.setAttribute('role', 'status');

    repeat.append(minuteRow, dayRow, timeRow, cronRow, zoneRow, preview);
    const rows: { [key in RepeatKind]: HTMLElement[] } = {
      once: [],
      hourly: [minuteRow, zoneRow],
      daily: [timeRow, zoneRow],
      weekdays: [timeRow, zoneRow],
      weekly: [dayRow, timeRow, zoneRow],
      custom: [cronRow, zoneRow]
    };
    const all = [minuteRow, dayRow, timeRow, cronRow, zoneRow];
    const update = (): void => {
      const shown = rows[kind.value as RepeatKind] ?? [];
      for (const row of all) {
        row.hidden = !shown.includes(row);
      }
      preview.hidden = kind.value === 'once';
      this._schedulePreview();
    };
    let wasOnce = kind.value === 'once';
    kind.addEventListener('change', () => {
      update();
      const once = kind.value === 'once';
      if (once !== wasOnce) {
        wasOnce = once;
        if (!this._outputEdited) {
          this._output.value = once ? this._defaults.output_path : this._defaultTemplate || this._output.value;
        }
        this._outputHelp.textContent = once
          ? trans.__('The executed notebook, relative to the server root.')
          : trans.__('Each run’s notebook; {name}, {date} and {time} are replaced for each run.');
        this.repeatChanged();
      }
    });
    for (const control of [minute, day, clock, cron, zone]) {
      control.addEventListener('input', () => this._schedulePreview());
      control.addEventListener('change', () => this._schedulePreview());
    }
    update();
    return repeat;
  }

  private _repeatValue(): IRepeat {
    return {
      kind: (this._repeatKind?.value ?? 'once') as RepeatKind,
      minute: Number(this._minute?.value || 0),
      time: this._time?.value,
      day: Number(this._day?.value ?? 1),
      cron: this._cronInput?.value
    };
  }

  /**
   * Ask for the next run times a moment after the last change (so typing a cron
   * expression asks once, not per key), and show them in the browser's time.
   */
  private _schedulePreview(): void {
    window.clearTimeout(this._previewTimer);
    const cron = this.cron;
    const node = this._previewNode;
    if (!node || !this._preview) {
      return;
    }
    if (cron === null) {
      this._previewAbort?.abort();
      node.replaceChildren();
      node.classList.remove('jp-mod-error');
      this._cronInput.removeAttribute('aria-invalid');
      this.validityChanged();
      return;
    }
    this._previewTimer = window.setTimeout(() => void this._fetchPreview(cron), 250);
  }

  private async _fetchPreview(cron: string): Promise<void> {
    const trans = this._trans;
    const node = this._previewNode;
    this._previewAbort?.abort();
    const abort = (this._previewAbort = new AbortController());
    const zone = this._timezone.value.trim() || 'UTC';
    try {
      const preview = await this._preview!(cron, zone, this._defaults.notebook_path, { signal: abort.signal });
      if (abort.signal.aborted) {
        return;
      }
      const template = preview.output_path ?? '';
      if (template && !this._schedule && !this._outputEdited && this._output.value !== template) {
        this._output.value = template;
      }
      this._defaultTemplate = template;
      node.classList.remove('jp-mod-error');
      this._cronInput.removeAttribute('aria-invalid');
      // A refused expression disabled the accept button (`.jp-mod-error`): check again.
      this.validityChanged();
      const now = new Date();
      const title = document.createElement('div');
      title.className = 'jp-mcp-ext-RunJob-previewTitle';
      title.textContent = trans.__('%1 (%2)', preview.description, preview.timezone);
      const list = document.createElement('ul');
      list.className = 'jp-mcp-ext-RunJob-previewRuns';
      list.setAttribute('aria-label', trans.__('Next runs, in your time'));
      for (const run of preview.next_runs) {
        const item = document.createElement('li');
        item.textContent = formatRunTime(run, now);
        item.title = run;
        list.appendChild(item);
      }
      const label = document.createElement('span');
      label.className = 'jp-mcp-ext-RunJob-previewLabel';
      label.textContent = trans.__('Next runs (your time):');
      node.replaceChildren(title, label, list);
      if (preview.example_output_path) {
        const example = document.createElement('div');
        example.className = 'jp-mcp-ext-RunJob-previewOutput';
        example.textContent = trans.__('First output: %1', preview.example_output_path);
        node.appendChild(example);
      }
    } catch (error) {
      if (abort.signal.aborted) {
        return;
      }
      node.classList.add('jp-mod-error');
      if (this._repeatKind.value === 'custom') {
        this._cronInput.setAttribute('aria-invalid', 'true');
      }
      node.replaceChildren(document.createTextNode(errorMessage(error)));
      this.validityChanged();
    }
  }

  private _defaults: INotebookParameters;
  private _trans: TranslationBundle;
  private _schedule: ISchedule | null;
  private _preview: PreviewFunction | null;
  private _repeatKind!: HTMLSelectElement;
  private _minute!: HTMLInputElement;
  private _day!: HTMLSelectElement;
  private _time!: HTMLInputElement;
  private _cronInput!: HTMLInputElement;
  private _timezone!: HTMLInputElement;
  private _previewNode!: HTMLDivElement;
  private _previewTimer = 0;
  private _previewAbort: AbortController | null = null;
  private _defaultTemplate = '';
  private _outputEdited = false;
  private _outputHelp!: HTMLElement;
  private _fields: IField[] = [];
  private _kernel: HTMLSelectElement;
  private _output: HTMLInputElement;
  private _timeout: HTMLInputElement;
  private _serverError: HTMLDivElement;
  private _uid = Math.random().toString(36).slice(2, 8);
}

/**
 * A Dialog that submits before it closes: when the server refuses the job, the
 * dialog stays open with the server's message, and the values stay as typed.
 */
export class RunJobDialog extends Dialog<RunRequest | null> {
  constructor(options: RunJobDialog.IOptions) {
    const trans = options.trans;
    const editing = options.editing ?? false;
    const buttons = [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      editing
        ? Dialog.okButton({ label: trans.__('Save Schedule'), ariaLabel: trans.__('Save the schedule') })
        : Dialog.okButton({ label: trans.__('Run Job'), ariaLabel: trans.__('Run the notebook as a job') })
    ];
    super({
      title: editing
        ? trans.__('Edit the Schedule of “%1”', baseName(options.defaults.notebook_path))
        : trans.__('Run “%1” as a Job', baseName(options.defaults.notebook_path)),
      body: options.form,
      buttons,
      defaultButton: buttons.length - 1,
      focusNodeSelector: 'input, select'
    });
    this.addClass('jp-mcp-ext-RunJobDialog');
    this._form = options.form;
    this._submit = options.submit;
    this._dialogButtons = buttons;
    this._trans = trans;
    // Dialog checks `.jp-mod-error` on input events before the form marks a field: check again after.
    this._form.validityChanged = () => this._checkValidation();
    if (!editing) {
      this._form.repeatChanged = () => this._nameAcceptButton();
    }
  }

  /**
   * What the dialog made (a job, or a schedule), once it has closed with its accept button.
   */
  get job(): IJob | ISchedule | null {
    return this._job;
  }

  /**
   * "Run Job" when the notebook runs once, "Create Schedule" when it repeats.
   */
  private _nameAcceptButton(): void {
    const trans = this._trans;
    const node = this.node.querySelector<HTMLButtonElement>('.jp-Dialog-button.jp-mod-accept');
    const label = node?.querySelector('.jp-Dialog-buttonLabel');
    const repeats = this._form.repeats;
    if (node && label) {
      label.textContent = repeats ? trans.__('Create Schedule') : trans.__('Run Job');
      node.setAttribute(
        'aria-label',
        repeats ? trans.__('Create the schedule') : trans.__('Run the notebook as a job')
      );
    }
  }

  resolve(index?: number): void {
    const i = index ?? this._dialogButtons.length - 1;
    const button = this._dialogButtons[i];
    if (!button?.accept || this._job) {
      super.resolve(index);
      return;
    }
    if (this._busy) {
      return;
    }
    const request = this._form.getValue();
    if (!request) {
      return;
    }
    this._setBusy(true);
    this._form.showError('');
    this._submit(request).then(
      job => {
        this._job = job;
        super.resolve(i);
      },
      error => {
        this._setBusy(false);
        this._form.showError(errorMessage(error));
      }
    );
  }

  private _setBusy(busy: boolean): void {
    this._busy = busy;
    for (const node of Array.from(this.node.querySelectorAll<HTMLButtonElement>('.jp-Dialog-button'))) {
      node.disabled = busy;
    }
    this.node.classList.toggle('jp-mod-busy', busy);
  }

  private _form: RunJobForm;
  private _submit: (request: RunRequest) => Promise<IJob | ISchedule>;
  private _dialogButtons: Dialog.IButton[];
  private _trans: TranslationBundle;
  private _job: IJob | ISchedule | null = null;
  private _busy = false;
}

/**
 * A namespace for RunJobDialog statics.
 */
export namespace RunJobDialog {
  export interface IOptions {
    defaults: INotebookParameters;
    form: RunJobForm;
    trans: TranslationBundle;
    submit: (request: RunRequest) => Promise<IJob | ISchedule>;
    /**
     * The form edits a schedule (its button saves it).
     */
    editing?: boolean;
  }
}

function section(title: string): HTMLFieldSetElement {
  const fieldset = document.createElement('fieldset');
  fieldset.className = 'jp-mcp-ext-RunJob-section';
  const legend = document.createElement('legend');
  legend.textContent = title;
  fieldset.appendChild(legend);
  return fieldset;
}

function note(text: string): HTMLParagraphElement {
  const p = document.createElement('p');
  p.className = 'jp-mcp-ext-RunJob-note';
  p.textContent = text;
  return p;
}

function kindLabel(kind: ValueKind, trans: TranslationBundle): string {
  switch (kind) {
    case 'json':
      return trans.__('JSON');
    case 'any':
      return trans.__('any');
    default:
      return kind;
  }
}

/**
 * A select in JupyterLab's styled wrapper, with its caret.
 */
function wrapSelect(select: HTMLSelectElement): HTMLElement {
  return Styling.wrapSelect(select);
}

function help(text: string, control: HTMLElement): HTMLElement {
  const node = document.createElement('div');
  node.className = 'jp-mcp-ext-RunJob-help';
  node.id = `${control.id}-help`;
  node.textContent = text;
  control.setAttribute('aria-describedby', node.id);
  return node;
}

function labelled(
  text: string,
  name: string,
  node: HTMLElement,
  control: HTMLElement,
  uid: string
): HTMLElement {
  const row = document.createElement('div');
  row.className = 'jp-mcp-ext-RunJob-field';
  const id = `jp-mcp-ext-${name}-${uid}`;
  control.id = id;
  control.setAttribute('name', name);
  const label = document.createElement('label');
  label.htmlFor = id;
  label.className = 'jp-mcp-ext-RunJob-label';
  label.textContent = text;
  row.append(label, node);
  return row;
}
