// A request to the extension's REST API under `<base_url>jupyter-mcp-ext/`, for every client of it
// (the MCP panel, Notebook Jobs, Review Agent Changes), as JupyterLab's extension template's `requestAPI`.

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/**
 * Options of `requestAPI`.
 */
export interface IRequestOptions {
  /**
   * The request's method, body and headers.
   */
  init?: RequestInit;
  /**
   * Query parameters (encoded here).
   */
  query?: { [key: string]: string };
  /**
   * The server connection settings; the default ones when left out.
   */
  settings?: ServerConnection.ISettings;
  /**
   * Turn a non-2xx answer into an error of the caller's own (a 409 naming cells), or return
   * null to throw the usual `ServerConnection.ResponseError`. Reads a clone of the response.
   */
  refusal?: (response: Response) => Promise<Error | null>;
}

/**
 * Call `<base_url>jupyter-mcp-ext/<parts...>` and return its JSON answer (undefined for 204).
 *
 * Throws `ServerConnection.NetworkError` when the server cannot be reached, and
 * `ServerConnection.ResponseError` for a non-2xx answer (its `message` is the server's own
 * sentence, its JSON `message`), unless `refusal` makes another error of it.
 */
export async function requestAPI<T>(parts: string[], options: IRequestOptions = {}): Promise<T> {
  const settings = options.settings ?? ServerConnection.makeSettings();
  let url = URLExt.join(settings.baseUrl, 'jupyter-mcp-ext', ...parts.map(encodeURIComponent));
  if (options.query) {
    url += URLExt.objectToQueryString(options.query);
  }
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, options.init ?? {}, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  if (!response.ok) {
    const own = options.refusal ? await options.refusal(response.clone()) : null;
    throw own ?? (await ServerConnection.ResponseError.create(response));
  }
  if (response.status === 204) {
    return undefined as T;
  }
  return (await response.json()) as T;
}
