/**
 * The MCP sidebar panel: endpoint URL, server status and how to connect a client.
 */
import { Clipboard } from '@jupyterlab/apputils';
import {
  copyIcon,
  refreshIcon,
  SidePanel,
  Toolbar,
  ToolbarButton
} from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { AccordionPanel, Panel, Widget } from '@lumino/widgets';

import { fetchConnectInfo, IClientSnippet, IConnectInfo, IMCPStatus } from './status';

/**
 * A sidebar panel showing where the MCP endpoint is and what the server reports.
 *
 * Three accordion sections, as in Lab's own sidebars: "Endpoint", "Status"
 * (with a refresh button in its title) and "Connect a client".
 */
export class MCPPanel extends SidePanel {
  constructor(options: MCPPanel.IOptions) {
    super();
    this.addClass('jp-mcp-ext-Panel');
    this.header.addWidget(textWidget('h2', 'MCP', 'jp-text-truncated'));

    const endpoint = new Panel();
    endpoint.title.label = 'Endpoint';
    endpoint.addClass('jp-mcp-ext-section');
    endpoint.addWidget(
      codeRow(options.endpoint, 'Copy the MCP endpoint URL', 'jp-mcp-ext-url')
    );
    this.addWidget(endpoint);

    this._status = new StatusSection(options.fetchStatus);
    this.addWidget(this._status);

    this.addWidget(
      new ConnectSection(
        options.fetchConnect ??
          ((withToken: boolean) =>
            fetchConnectInfo(options.endpoint, withToken))
      )
    );

    (this.content as AccordionPanel).setRelativeSizes([1, 3, 2]);
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

type StatusState =
  | { kind: 'loading' }
  | { kind: 'ok'; status: IMCPStatus }
  | { kind: 'error'; message: string };

/**
 * The "Status" section: fetches the status whenever it is shown or refreshed.
 */
class StatusSection extends Widget {
  constructor(fetchStatus: () => Promise<IMCPStatus>) {
    super();
    this._fetchStatus = fetchStatus;
    this.title.label = 'Status';
    this.addClass('jp-mcp-ext-section');
    this.addClass('jp-mcp-ext-status');
    // SidePanel's accordion puts a section's `toolbar` in the section title.
    this.toolbar = new Toolbar();
    this.toolbar.addItem(
      'refresh',
      new ToolbarButton({
        icon: refreshIcon,
        tooltip: 'Refresh the server status',
        onClick: () => void this.refresh()
      })
    );
  }

  readonly toolbar: Toolbar;

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
    const node = this.node;
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

  private _fetchStatus: () => Promise<IMCPStatus>;
  private _requests = 0;
}

/**
 * The "Connect a client" section: the same snippets as `jupyter mcp-ext connect`,
 * one client at a time. Shown and copied with a `<token>` placeholder; the
 * server's token is fetched only for an explicit "Copy with token", straight
 * into the clipboard, and never shown or kept.
 */
class ConnectSection extends Widget {
  constructor(fetchConnect: (withToken: boolean) => Promise<IConnectInfo>) {
    super();
    this._fetchConnect = fetchConnect;
    this.title.label = 'Connect a client';
    this.addClass('jp-mcp-ext-section');
    this.addClass('jp-mcp-ext-connect');
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    void this._load();
  }

  private async _load(): Promise<void> {
    let info: IConnectInfo;
    try {
      info = await this._fetchConnect(false);
    } catch (error) {
      this.node.replaceChildren(
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
      'Configuration for an MCP client, with the endpoint URL filled in and ' +
        '<token> standing for this server’s token.'
    );
    const select = element('select', '', 'jp-mcp-ext-clientSelect');
    select.classList.add('jp-mod-styled');
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
    const copy = new ToolbarButton({
      icon: copyIcon,
      tooltip: 'Copy (with <token> to fill in)',
      onClick: () => Clipboard.copyToSystem(code.textContent ?? '')
    });
    const withToken = element('button', 'Copy with token', 'jp-mcp-ext-copyWithToken');
    withToken.classList.add('jp-mod-styled', 'jp-mod-accept');
    withToken.disabled = !info.token_available;
    withToken.title = info.token_available
      ? 'Copy this snippet with the server’s token in it: keep it private'
      : 'This server has no token of its own (password or JupyterHub login)';
    const note = element('p', '', 'jp-mcp-ext-note');
    const show = (client: IClientSnippet | undefined): void => {
      where.textContent = client ? `${client.title}: ${client.where}` : '';
      code.textContent = client?.snippet ?? '';
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
    this.node.replaceChildren(intro, select, where, row, withToken, note);
    // A Lumino widget inside a plain DOM tree: attach it through the node.
    Widget.attach(copy, row);
  }

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

/**
 * A block of code text with a copy button beside it.
 */
function codeRow(text: string, tooltip: string, className: string): Panel {
  const row = new Panel();
  row.addClass('jp-mcp-ext-codeRow');
  row.addClass(className);
  row.addWidget(textWidget('code', text, 'jp-mcp-ext-code'));
  row.addWidget(
    new ToolbarButton({
      icon: copyIcon,
      tooltip,
      onClick: () => Clipboard.copyToSystem(text)
    })
  );
  return row;
}

function statusList(status: IMCPStatus): HTMLElement {
  const list = element('dl', '', 'jp-mcp-ext-statusList');
  const add = (label: string, value: string, className: string): void => {
    list.appendChild(element('dt', label));
    list.appendChild(element('dd', value, className));
  };
  add('Version', status.version, 'jp-mcp-ext-version');
  add('MCP path', status.mcp_path, 'jp-mcp-ext-path');
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
  if (status.protocol_versions?.length) {
    add('Protocols', '', 'jp-mcp-ext-protocols');
    // One unbreakable chip per version: a line break inside a date misleads.
    const versions = list.lastElementChild as HTMLElement;
    for (const version of status.protocol_versions) {
      versions.appendChild(element('span', version, 'jp-mcp-ext-protocol'));
    }
  }
  if (status.active_sessions !== undefined) {
    add('MCP sessions', String(status.active_sessions), 'jp-mcp-ext-sessions');
  }
  if (status.kernels !== undefined) {
    add('Kernels', String(status.kernels), 'jp-mcp-ext-kernels');
  }
  if (status.jobs) {
    const { queued = 0, running = 0 } = status.jobs;
    add('Jobs', `${running} running, ${queued} queued`, 'jp-mcp-ext-jobs');
  }
  if (status.root_dir) {
    add('Root dir', status.root_dir, 'jp-mcp-ext-rootDir');
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
