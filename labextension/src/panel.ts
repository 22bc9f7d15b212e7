/**
 * The MCP sidebar panel: endpoint URL, how to connect a client, and server status.
 */
import { Clipboard } from '@jupyterlab/apputils';
import {
  copyIcon,
  LabIcon,
  refreshIcon,
  SidePanel,
  Styling,
  Toolbar,
  ToolbarButton
} from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { Panel, Widget } from '@lumino/widgets';

import { fetchConnectInfo, IClientSnippet, IConnectInfo, IMCPStatus } from './status';
import { actionButton } from './toolbar';

/**
 * A sidebar panel showing where the MCP endpoint is, how to connect a client
 * and what the server reports.
 *
 * Three sections in one scrolling column, each as tall as what it holds:
 * "Endpoint", "Connect a client" and "Status" (with a refresh button in its
 * title). At 1400×900 a new user sees the first two whole without scrolling.
 */
export class MCPPanel extends SidePanel {
  constructor(options: MCPPanel.IOptions) {
    super({ content: new Panel() });
    this.addClass('jp-mcp-ext-Panel');
    this.content.addClass('jp-mcp-ext-content');
    this.header.addWidget(textWidget('h2', 'MCP', 'jp-text-truncated'));

    const endpoint = new Section('Endpoint', 'jp-mcp-ext-endpoint');
    endpoint.addWidget(
      codeRow(options.endpoint, 'Copy the MCP endpoint URL', 'jp-mcp-ext-url')
    );
    this.addWidget(endpoint);

    this.addWidget(
      new ConnectSection(
        options.fetchConnect ??
          ((withToken: boolean) =>
            fetchConnectInfo(options.endpoint, withToken))
      )
    );

    this._status = new StatusSection(options.fetchStatus);
    this.addWidget(this._status);
  }

  /**
   * Fetch the server status again and show it, or the error.
   */
  refresh(): Promise<void> {
    return this._status.refresh();
  }

  private _status: StatusSection;
}

/**
 * A namespace for MCPPanel statics.
 */
export namespace MCPPanel {
  /**
   * What the panel needs: the endpoint URL to show and a way to get the status.
   */
  export interface IOptions {
    endpoint: string;
    fetchStatus: () => Promise<IMCPStatus>;
    /**
     * The client snippets for the endpoint; with `withToken`, holding the
     * server's token. Default: the server's `jupyter-mcp-ext/connect` route.
     */
    fetchConnect?: (withToken: boolean) => Promise<IConnectInfo>;
  }
}

/**
 * One section of the panel: a title row (with an optional toolbar) over what
 * is added to it.
 */
class Section extends Panel {
  constructor(title: string, className: string, toolbar?: Toolbar) {
    super();
    this.addClass('jp-mcp-ext-section');
    this.addClass(className);
    const titleRow = new Panel();
    titleRow.addClass('jp-mcp-ext-sectionTitle');
    titleRow.addWidget(textWidget('h3', title));
    if (toolbar) {
      titleRow.addWidget(toolbar);
    }
    this.addWidget(titleRow);
  }
}

type StatusState =
  | { kind: 'loading' }
  | { kind: 'ok'; status: IMCPStatus }
  | { kind: 'error'; message: string };

/**
 * The "Status" section: fetches the status whenever it is shown or refreshed.
 */
class StatusSection extends Section {
  constructor(fetchStatus: () => Promise<IMCPStatus>) {
    const toolbar = new Toolbar();
    super('Status', 'jp-mcp-ext-status', toolbar);
    this._fetchStatus = fetchStatus;
    toolbar.addItem(
      'refresh',
      iconButton(refreshIcon, 'Refresh the server status', () => void this.refresh())
    );
    this.addWidget(this._body);
  }

  async refresh(): Promise<void> {
    const request = ++this._requests;
    this._render({ kind: 'loading' });
    let state: StatusState;
    try {
      state = { kind: 'ok', status: await this._fetchStatus() };
    } catch (error) {
      state = { kind: 'error', message: errorMessage(error) };
    }
    // A slower, older request must not overwrite a newer answer.
    if (request === this._requests) {
      this._render(state);
    }
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    if (this.isVisible) {
      void this.refresh();
    }
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.refresh();
  }

  private _render(state: StatusState): void {
    const node = this._body.node;
    if (state.kind === 'loading') {
      // Keep the last answer on screen while a refresh is in flight.
      if (!node.hasChildNodes()) {
        node.appendChild(element('p', 'Loading…', 'jp-mcp-ext-loading'));
      }
      return;
    }
    node.replaceChildren(
      state.kind === 'ok'
        ? statusList(state.status)
        : element(
            'p',
            `Could not load the server status: ${state.message}`,
            'jp-mcp-ext-error'
          )
    );
  }

  private _body = new Widget();
  private _fetchStatus: () => Promise<IMCPStatus>;
  private _requests = 0;
}

/**
 * The "Connect a client" section: the same snippets as `jupyter mcp-ext connect`,
 * one client at a time, picked in a dropdown. Shown and copied with a
 * `<token>` placeholder; the server's token is fetched only for an explicit
 * "Copy with token", straight into the clipboard, and never shown or kept.
 */
class ConnectSection extends Section {
  constructor(fetchConnect: (withToken: boolean) => Promise<IConnectInfo>) {
    super('Connect a client', 'jp-mcp-ext-connect');
    this._fetchConnect = fetchConnect;
    this.addWidget(this._body);
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    if (!this._loaded) {
      this._loaded = true;
      void this._load();
    }
  }

  dispose(): void {
    this._copy?.dispose();
    super.dispose();
  }

  private async _load(): Promise<void> {
    let info: IConnectInfo;
    try {
      info = await this._fetchConnect(false);
    } catch (error) {
      this._body.node.replaceChildren(
        element(
          'p',
          `Could not load the client snippets: ${errorMessage(error)}`,
          'jp-mcp-ext-error'
        )
      );
      return;
    }
    this._render(info);
  }

  private _render(info: IConnectInfo): void {
    const intro = element(
      'p',
      'Configuration for your MCP client; <token> stands for this server’s token.',
      'jp-mcp-ext-intro'
    );
    const select = element('select', '', 'jp-mcp-ext-clientSelect');
    select.setAttribute('aria-label', 'MCP client');
    for (const client of info.clients) {
      const option = element('option', client.title);
      option.value = client.id;
      select.appendChild(option);
    }
    const where = element('p', '', 'jp-mcp-ext-where');
    const code = element('pre', '', 'jp-mcp-ext-code');
    const row = element('div', '', 'jp-mcp-ext-codeRow');
    row.classList.add('jp-mcp-ext-snippet');
    row.appendChild(code);
    const copy = iconButton(copyIcon, 'Copy (with <token> to fill in)', () =>
      Clipboard.copyToSystem(code.textContent ?? '')
    );
    const withToken = element('button', 'Copy with token', 'jp-mcp-ext-copyWithToken');
    withToken.classList.add('jp-mod-styled', 'jp-mod-accept');
    withToken.disabled = !info.token_available;
    withToken.title = info.token_available
      ? 'Copy this snippet with the server’s token in it: keep it private'
      : 'This server has no token of its own (password or JupyterHub login)';
    const note = element('p', '', 'jp-mcp-ext-note');
    const show = (client: IClientSnippet | undefined): void => {
      where.textContent = client ? capitalized(client.where) + ':' : '';
      breakablePath(code, client?.snippet ?? '');
    };
    select.onchange = () =>
      show(info.clients.find(c => c.id === select.value));
    withToken.onclick = async () => {
      const id = select.value;
      try {
        const secret = await this._fetchConnect(true);
        const snippet = secret.clients.find(c => c.id === id)?.snippet ?? '';
        Clipboard.copyToSystem(snippet);
        note.textContent =
          'Copied with the token: it grants full access to this server.';
        note.classList.remove('jp-mcp-ext-error');
      } catch (error) {
        note.textContent = `Could not copy with the token: ${errorMessage(error)}`;
        note.classList.add('jp-mcp-ext-error');
      }
    };
    show(info.clients[0]);
    // Lab's own dropdown: the select in a wrapper with the caret icon.
    const picker = Styling.wrapSelect(select);
    picker.classList.add('jp-mcp-ext-clientPicker');
    this._body.node.replaceChildren(intro, picker, where, row, withToken, note);
    // A Lumino widget inside a plain DOM tree: attach it through the node.
    this._copy = copy;
    Widget.attach(copy, row);
  }

  private _body = new Widget();
  private _copy: ToolbarButton | null = null;
  private _loaded = false;
  private _fetchConnect: (withToken: boolean) => Promise<IConnectInfo>;
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text = '',
  className = ''
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.textContent = text;
  if (className) {
    node.className = className;
  }
  return node;
}

function textWidget(
  tag: keyof HTMLElementTagNameMap,
  text: string,
  className = ''
): Widget {
  return new Widget({ node: element(tag, text, className) });
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * Where a URL or path may break: after a single "/" ("http://" stays whole),
 * and before "?", "&" or "#".
 */
const PATH_BREAKS = /(?<=[^/]\/)(?=[^/])|(?=[?&#])/;

/**
 * Show `text` (a URL, a path, or a snippet holding them) in `node` so that
 * its lines break at spaces or after a "/", never inside a host name or a
 * word: each part is a text node of its own, with a `<wbr>` between them
 * (`textContent`, and so what is copied, stays `text`).
 */
export function breakablePath(node: HTMLElement, text: string): void {
  node.replaceChildren();
  text.split(PATH_BREAKS).forEach((part, index) => {
    if (index > 0) {
      node.appendChild(document.createElement('wbr'));
    }
    node.appendChild(document.createTextNode(part));
  });
}

/**
 * A URL in code type with a copy button beside it; it wraps after a "/" only.
 */
function codeRow(text: string, tooltip: string, className: string): Panel {
  const row = new Panel();
  row.addClass('jp-mcp-ext-codeRow');
  row.addClass(className);
  const code = textWidget('code', '', 'jp-mcp-ext-code');
  breakablePath(code.node, text);
  row.addWidget(code);
  row.addWidget(iconButton(copyIcon, tooltip, () => Clipboard.copyToSystem(text)));
  return row;
}

/**
 * A toolbar button with an icon that does `action` (see `actionButton`).
 */
function iconButton(icon: LabIcon, tooltip: string, action: () => void): ToolbarButton {
  return actionButton({ icon, tooltip, onClick: action });
}

/**
 * What the "Clients" row says: how many MCP clients are connected now.
 */
export function clientsText(status: IMCPStatus): { text: string; title: string } {
  const connected = status.active_sessions ?? 0;
  const seconds = status.active_session_seconds;
  const recent = seconds
    ? `an open stream or a request in the last ${seconds >= 120 ? `${Math.round(seconds / 60)} minutes` : `${seconds} s`}`
    : 'an open session';
  let title = `MCP sessions with ${recent}.`;
  const idle = (status.open_sessions ?? connected) - connected;
  if (idle > 0) {
    title += ` ${idle} idle session${idle === 1 ? '' : 's'} not counted (closed after the idle timeout).`;
  }
  title += ' Stateless clients (protocol 2026-07-28) keep no session.';
  return { text: connected ? `${connected} connected` : 'none connected', title };
}

function statusList(status: IMCPStatus): HTMLElement {
  const list = element('dl', '', 'jp-mcp-ext-statusList');
  const add = (label: string, value: string, className: string): HTMLElement => {
    list.appendChild(element('dt', label));
    const dd = element('dd', value, className);
    list.appendChild(dd);
    return dd;
  };
  if (status.active_sessions !== undefined) {
    const { text, title } = clientsText(status);
    add('Clients', text, 'jp-mcp-ext-sessions').title = title;
  }
  add(
    'Tools',
    String(status.tool_count ?? status.tools.length),
    'jp-mcp-ext-toolCount'
  );
  if (status.read_only !== undefined) {
    add(
      'Read-only',
      status.read_only ? 'yes: no edits, execution or jobs' : 'no',
      'jp-mcp-ext-readOnly'
    );
  }
  if (status.withheld_tools?.length) {
    add(
      'Withheld',
      status.withheld_tools.join(', '),
      'jp-mcp-ext-withheld'
    );
  }
  if (status.kernels !== undefined) {
    add('Kernels', String(status.kernels), 'jp-mcp-ext-kernels');
  }
  if (status.jobs) {
    const { queued = 0, running = 0 } = status.jobs;
    add('Jobs', `${running} running, ${queued} queued`, 'jp-mcp-ext-jobs');
  }
  if (status.protocol_versions?.length) {
    // One unbreakable chip per version: a line break inside a date misleads.
    const versions = add('Protocols', '', 'jp-mcp-ext-protocols');
    for (const version of status.protocol_versions) {
      versions.appendChild(element('span', version, 'jp-mcp-ext-protocol'));
    }
  }
  add('Version', status.version, 'jp-mcp-ext-version');
  if (status.root_dir) {
    breakablePath(add('Root dir', '', 'jp-mcp-ext-rootDir'), status.root_dir);
  }

  const wrapper = element('div');
  wrapper.appendChild(list);
  if (status.tools.length) {
    const details = element('details', '', 'jp-mcp-ext-tools');
    details.appendChild(element('summary', 'Tool names'));
    const names = element('ul');
    for (const name of status.tools) {
      names.appendChild(element('li', name));
    }
    details.appendChild(names);
    wrapper.appendChild(details);
  }
  return wrapper;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
