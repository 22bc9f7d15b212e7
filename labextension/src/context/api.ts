/**
 * A small typed client of `jupyter-mcp-ext/context`, where the Lab reports
 * the person's focus (the notebook and cell they are on) for MCP clients'
 * `get_active_notebook`.
 */
import { ServerConnection } from '@jupyterlab/services';

import { requestAPI } from '../request';

/**
 * A place in a cell's source; `line` and `column` count from 0.
 */
export interface IPosition {
  line: number;
  column: number;
}

/**
 * A selected cell: its index as the person sees it and its nbformat id
 * (null in a notebook without cell ids, nbformat < 4.5).
 */
export interface ISelectedCell {
  index: number;
  id: string | null;
}

/**
 * What one Lab tab shows the person: the notebook they focused (`path` null
 * when none is open), its active cell and selection, the cursor or selected
 * text in the cell being edited, its kernel, and every notebook open.
 */
export interface IFocusState {
  path: string | null;
  cell_index?: number | null;
  cell_id?: string | null;
  cell_type?: 'code' | 'markdown' | 'raw' | null;
  selected_cells?: ISelectedCell[];
  selected_cell_count?: number;
  text_selection?: { start: IPosition; end: IPosition } | null;
  kernel_id?: string | null;
  unsaved?: boolean;
  open_notebooks: string[];
}

/**
 * The body of `POST jupyter-mcp-ext/context`: a tab's state, and whether the
 * person's focus stayed where it was (`heartbeat`: the server then keeps the
 * tab's focus time).
 */
export interface IFocusReport extends IFocusState {
  tab: string;
  heartbeat: boolean;
}

/**
 * Why a tab's report is withdrawn: the page closed, or the person turned
 * sharing off (the server then forgets every tab's report).
 */
export type ForgetReason = 'closed' | 'off';

/**
 * Where a reporter sends its reports (the server; a fake in unit tests).
 */
export interface IContextClient {
  report(report: IFocusReport): Promise<void>;
  forget(tab: string, reason: ForgetReason, keepalive?: boolean): Promise<void>;
}

/**
 * The server's `jupyter-mcp-ext/context` route.
 *
 * Throws `ServerConnection.NetworkError` when the server cannot be reached and
 * `ServerConnection.ResponseError` for a non-2xx answer.
 */
export class ContextClient implements IContextClient {
  constructor(serverSettings?: ServerConnection.ISettings) {
    this.serverSettings = serverSettings ?? ServerConnection.makeSettings();
  }

  readonly serverSettings: ServerConnection.ISettings;

  async report(report: IFocusReport): Promise<void> {
    await requestAPI<void>(['context'], {
      init: { method: 'POST', body: JSON.stringify(report) },
      settings: this.serverSettings
    });
  }

  /**
   * With `keepalive`, the request outlives the page (for `pagehide`).
   */
  async forget(tab: string, reason: ForgetReason, keepalive = false): Promise<void> {
    await requestAPI<void>(['context'], {
      init: { method: 'DELETE', keepalive },
      query: { tab, reason },
      settings: this.serverSettings
    });
  }
}
