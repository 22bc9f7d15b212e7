/**
 * The "Run as Job…" dialog: a notebook's parameters (prefilled from its
 * `parameters` cell as Papermill infers them), the kernel, the output path and
 * the timeout. It stays open and shows the server's message when the job is refused.
 */
import { Dialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Styling } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { errorMessage, IJob, IJobRequest, INotebookParameters } from './api';
import { baseName, initialText, parseValue, ValueKind, valueKind } from './format';

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
  constructor(defaults: INotebookParameters, trans: TranslationBundle) {
    super({ node: document.createElement('form') });
    this._defaults = defaults;
    this._trans = trans;
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
        select.value = initial;
        input = select;
        row.appendChild(wrapSelect(select));
      } else {
        const text = document.createElement('input');
        text.type = 'text';
        text.value = initial;
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

    const run = section(trans.__('Run'));
    this._kernel = document.createElement('select');
    for (const spec of defaults.kernelspecs) {
      this._kernel.appendChild(new Option(spec.display_name, spec.name));
    }
    if (defaults.kernel_name) {
      this._kernel.value = defaults.kernel_name;
    } else {
      this._kernel.prepend(new Option(trans.__('Choose a kernel'), ''));
      this._kernel.value = '';
    }
    run.appendChild(labelled(trans.__('Kernel'), 'kernel', wrapSelect(this._kernel), this._kernel, this._uid));

    this._output = document.createElement('input');
    this._output.type = 'text';
    this._output.className = 'jp-mod-styled';
    this._output.value = defaults.output_path;
    this._output.spellcheck = false;
    const outputRow = labelled(trans.__('Output'), 'output', this._output, this._output, this._uid);
    outputRow.appendChild(help(trans.__('The executed notebook, relative to the server root.'), this._output));
    run.appendChild(outputRow);

    this._timeout = document.createElement('input');
    this._timeout.type = 'number';
    this._timeout.min = '0';
    this._timeout.step = 'any';
    this._timeout.className = 'jp-mod-styled';
    this._timeout.value = String(defaults.timeout_seconds);
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
   * The job to create, or null (with the fields' errors shown) when a value is not valid.
   */
  getValue(): IJobRequest | null {
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

  private _defaults: INotebookParameters;
  private _trans: TranslationBundle;
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
export class RunJobDialog extends Dialog<IJobRequest | null> {
  constructor(options: RunJobDialog.IOptions) {
    const trans = options.trans;
    const buttons = [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      Dialog.okButton({ label: trans.__('Run Job'), ariaLabel: trans.__('Run the notebook as a job') })
    ];
    super({
      title: trans.__('Run “%1” as a Job', baseName(options.defaults.notebook_path)),
      body: options.form,
      buttons,
      defaultButton: buttons.length - 1,
      focusNodeSelector: 'input, select'
    });
    this.addClass('jp-mcp-ext-RunJobDialog');
    this._form = options.form;
    this._submit = options.submit;
    this._dialogButtons = buttons;
    // Dialog checks `.jp-mod-error` on input events before the form marks a field: check again after.
    this._form.validityChanged = () => this._checkValidation();
  }

  /**
   * The job the dialog created, once it has closed with "Run Job".
   */
  get job(): IJob | null {
    return this._job;
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
  private _submit: (request: IJobRequest) => Promise<IJob>;
  private _dialogButtons: Dialog.IButton[];
  private _job: IJob | null = null;
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
    submit: (request: IJobRequest) => Promise<IJob>;
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
