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

import { IMCPStatus } from './status';

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

    const connect = new Panel();
    connect.title.label = 'Connect a client';
    connect.addClass('jp-mcp-ext-section');
    connect.addWidget(
      textWidget(
        'p',
        'Add this server to Claude Code (or any MCP client that speaks ' +
          'Streamable HTTP) with the token of this Jupyter server:'
      )
    );
    // Never the real token: the page is not the place to leak it from.
    const snippet =
      `claude mcp add --transport http jupyter ${options.endpoint} ` +
      '--header "Authorization: token <your token>"';
    connect.addWidget(
      codeRow(snippet, 'Copy the command', 'jp-mcp-ext-snippet')
    );
    this.addWidget(connect);

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
