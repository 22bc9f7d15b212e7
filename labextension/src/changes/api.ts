/**
 * A small typed client of the agent changes REST API (`jupyter-mcp-ext/changes`)
 * and the shapes of its records and of the change events.
 */
import { ServerConnection } from '@jupyterlab/services';

import { requestAPI } from '../request';

// One sentence for a failed request, the same in every panel of the extension.
export { errorMessage } from '../jobs/api';

/**
 * What a record is: a tool call's cell changes, a notebook it created, or the
 * trashing of a notebook an agent had created (a revert of a create).
 */
export type ChangeKind = 'edit' | 'create' | 'delete';

/**
 * One change of one notebook, as `GET jupyter-mcp-ext/changes?path=` lists it.
 */
export interface IChange {
  id: string;
  path: string;
  kind: ChangeKind;
  /**
   * The MCP client's `clientInfo` name; "JupyterLab" for a revert made in Lab.
   */
  client: string | null;
  /**
   * A short id telling two sessions of one client apart.
   */
  session: string | null;
  user: string | null;
  /**
   * The tool of the call (add_cell, update_cell, ...), or "revert".
   */
  tool: string;
  /**
   * ISO 8601, UTC.
   */
  time: string;
  /**
   * The ids of the cells the change touched (`#<index>` for a cell without id).
   */
  cells: string[];
  summary: string;
  reverted: boolean;
  reverted_by: string | null;
  /**
   * For a revert record: the ids of the changes it reverted.
   */
  reverts: string[];
  kept: boolean;
}

/**
 * An nbformat cell, as far as the review reads it.
 */
export interface INotebookCell {
  cell_type: string;
  source: string | string[];
  metadata?: { [key: string]: unknown };
  outputs?: IOutput[];
  execution_count?: number | null;
  id?: string;
}

/**
 * An nbformat output, as far as the review reads it.
 */
export interface IOutput {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: { [mimeType: string]: unknown };
  ename?: string;
  evalue?: string;
}

/**
 * One cell as it was before or is after a change, where it was, and its neighbours.
 */
export interface ICellState {
  id: string | null;
  index: number;
  cell: INotebookCell;
  prev_ids: string[];
  next_ids: string[];
}

/**
 * A change with its cells: `before` holds the cells updated or removed as they
 * were, `after` the cells updated or added as they are.
 */
export interface IChangeDetail extends IChange {
  before: ICellState[];
  after: ICellState[];
  metadata_before: { [key: string]: unknown } | null;
  metadata_after: { [key: string]: unknown } | null;
}

/**
 * The answer of a revert.
 */
export interface IRevertResult {
  reverted: string[];
  cells: string[];
  /**
   * The records of the reverts made.
   */
  changes: IChange[];
}

/**
 * The `$id` of the change events (jupyter_mcp_ext/events/change.yaml).
 */
export const CHANGE_EVENT_SCHEMA_ID =
  'https://events.jupyter.org/jupyter_mcp_ext/change/v1';

/**
 * A change event, as `serviceManager.events.stream` delivers it.
 */
export interface IChangeEvent {
  schema_id: string;
  action: 'recorded' | 'reverted' | 'kept';
  id: string;
  path: string;
  client?: string | null;
  tool?: string;
  cells?: string[];
}

/**
 * A refused revert (409): the server's sentence and the cells in conflict.
 */
export class ChangeConflictError extends Error {
  constructor(message: string, cells: string[]) {
    super(message);
    this.name = 'ChangeConflictError';
    this.cells = cells;
  }

  readonly cells: string[];
}

/**
 * A 409 that names the cells in conflict, as a `ChangeConflictError`; null for any other refusal.
 */
async function conflict(response: Response): Promise<Error | null> {
  if (response.status !== 409) {
    return null;
  }
  const body = await response.json().catch(() => null);
  if (body && Array.isArray(body.cells)) {
    return new ChangeConflictError(String(body.message || body.reason || ''), body.cells);
  }
  return null;
}

/**
 * The changes REST API of the server.
 *
 * Every method throws `ServerConnection.NetworkError` when the server cannot be
 * reached, `ChangeConflictError` for a 409 that names cells, and
 * `ServerConnection.ResponseError` for any other non-2xx answer (its `message`
 * is the server's own sentence).
 */
export class ChangesClient {
  constructor(serverSettings?: ServerConnection.ISettings) {
    this.serverSettings = serverSettings ?? ServerConnection.makeSettings();
  }

  readonly serverSettings: ServerConnection.ISettings;

  /**
   * The changes of the notebook at `path` (an API path), newest first.
   */
  async list(path: string): Promise<IChange[]> {
    const answer = await this._request<{ changes: IChange[] }>([], {}, { path });
    return answer.changes;
  }

  /**
   * One change with its cells before and after.
   */
  get(id: string): Promise<IChangeDetail> {
    return this._request<IChangeDetail>([id]);
  }

  /**
   * Revert one change.
   */
  revert(id: string): Promise<IRevertResult> {
    return this._request<IRevertResult>([id, 'revert'], { method: 'POST', body: '{}' });
  }

  /**
   * Revert several changes at once, all or nothing.
   */
  revertMany(ids: string[]): Promise<IRevertResult> {
    return this._request<IRevertResult>(['revert'], {
      method: 'POST',
      body: JSON.stringify({ ids })
    });
  }

  /**
   * Take a change out of the review; its record stays.
   */
  keep(id: string): Promise<IChange> {
    return this._request<IChange>([id, 'keep'], { method: 'POST', body: '{}' });
  }

  private _request<T>(
    parts: string[],
    init: RequestInit = {},
    query?: { [key: string]: string }
  ): Promise<T> {
    return requestAPI<T>(['changes', ...parts], {
      init,
      query,
      settings: this.serverSettings,
      refusal: conflict
    });
  }
}
