/**
 * A small typed client of the jobs REST API (docs/jobs-api.md, docs/jobs-openapi.yaml)
 * and the shapes of its records and of the job events.
 */
import { ServerConnection } from '@jupyterlab/services';

import { requestAPI } from '../request';

/**
 * A job's status; `queued` and `running` are active, the others final.
 */
export type JobStatus =
  | 'queued'
  | 'running'
  | 'completed'
  | 'failed'
  | 'timeout'
  | 'cancelled';

/**
 * Every status, in the order the panel's filter lists them.
 */
export const JOB_STATUSES: ReadonlyArray<JobStatus> = [
  'queued',
  'running',
  'completed',
  'failed',
  'timeout',
  'cancelled'
];

/**
 * Whether a job with this status has not ended yet.
 */
export function isActive(status: JobStatus): boolean {
  return status === 'queued' || status === 'running';
}

/**
 * Why a job did not complete.
 */
export interface IJobError {
  type: string;
  message: string;
  reason: string;
  cell_index?: number | null;
  execution_count?: number | null;
  ename?: string | null;
  evalue?: string | null;
  traceback?: string[] | null;
}

/**
 * A job record (`Job` of the OpenAPI document).
 */
export interface IJob {
  job_id: string;
  notebook_path: string;
  output_path: string;
  working_dir?: string;
  status: JobStatus;
  created_at: number;
  started_at?: number | null;
  completed_at?: number | null;
  execution_time?: number | null;
  parameters?: { [name: string]: unknown };
  kernel_name: string;
  timeout_seconds: number;
  env_override_names?: string[];
  progress: {
    cells_total?: number;
    cells_executed?: number;
    percent?: number;
    current_cell?: {
      index?: number | null;
      source?: string;
      started_at?: number | null;
    } | null;
  };
  result?: {
    cells_succeeded?: number;
    cells_failed?: number;
    error?: IJobError | null;
    note?: string | null;
  } | null;
  error?: IJobError | null;
  message?: string | null;
  cancel_requested_at?: number | null;
  started_by?: { via: 'mcp' | 'lab' | 'schedule'; client_name?: string | null } | null;
  /**
   * The schedule this job is a run of (null for other jobs).
   */
  schedule_id?: string | null;
  scheduled_for?: number | null;
  /**
   * What the run does that its starter may not expect: parameters without a
   * `parameters` cell, or names the notebook does not declare.
   */
  warnings?: string[];
}

/**
 * Jobs per status, and their total.
 */
export type JobCounts = { [status in JobStatus]?: number } & {
  total?: number;
};

/**
 * The answer of `GET jupyter-mcp-ext/jobs`.
 */
export interface IJobList {
  jobs: IJob[];
  counts: JobCounts;
}

/**
 * One line of a job's log.
 */
export interface ILogLine {
  line: number;
  timestamp?: number | null;
  level: 'stdout' | 'stderr' | 'info' | 'warning' | 'error';
  message: string;
}

/**
 * A page of log lines after `since_line`.
 */
export interface ILogPage {
  job_id: string;
  status: JobStatus;
  logs: ILogLine[];
  since_line: number;
  next_since_line: number;
  total_lines: number;
  has_more: boolean;
}

/**
 * One assignment of a notebook's `parameters` cell, as Papermill infers it.
 */
export interface INotebookParameter {
  name: string;
  inferred_type_name: string | null;
  default: string;
  value: unknown;
  has_value: boolean;
  help: string;
}

/**
 * What a job of a notebook would run with by default.
 */
export interface INotebookParameters {
  notebook_path: string;
  has_parameters_cell: boolean;
  parameters: INotebookParameter[];
  kernel_name: string | null;
  language?: string | null;
  kernelspecs: { name: string; display_name: string; language?: string | null }[];
  output_path: string;
  timeout_seconds: number;
}

/**
 * The body of `POST jupyter-mcp-ext/jobs`.
 */
export interface IJobRequest {
  notebook_path: string;
  output_path?: string | null;
  parameters?: { [name: string]: unknown };
  kernel_name?: string | null;
  timeout_seconds?: number | null;
}

/**
 * The fields of a schedule, as `POST` / `PATCH jupyter-mcp-ext/schedules` take them.
 */
export interface IScheduleRequest {
  notebook_path?: string;
  cron?: string;
  timezone?: string;
  parameters?: { [name: string]: unknown };
  kernel_name?: string | null;
  output_path?: string | null;
  timeout_seconds?: number | null;
  overlap?: 'skip' | 'queue';
  catch_up?: 'run_once' | 'skip';
  start_date?: string | null;
  end_date?: string | null;
  active?: boolean;
}

/**
 * One entry of a schedule's history.
 */
export interface IScheduleEvent {
  event: 'started' | 'skipped_overlap' | 'missed' | 'caught_up';
  time: string;
  last_time?: string | null;
  count?: number;
  recorded_at: number;
  job_id?: string | null;
  message?: string | null;
}

/**
 * A schedule (`Schedule` of the OpenAPI document).
 */
export interface ISchedule {
  schedule_id: string;
  notebook_path: string;
  parameters: { [name: string]: unknown };
  kernel_name: string;
  output_path: string;
  timeout_seconds: number;
  cron: string;
  timezone: string;
  active: boolean;
  overlap: 'skip' | 'queue';
  catch_up: 'run_once' | 'skip';
  start_date?: string | null;
  end_date?: string | null;
  created_at: number;
  updated_at: number;
  status: 'active' | 'paused' | 'ended';
  message: string;
  description: string;
  /**
   * ISO 8601 with the schedule's offset.
   */
  next_runs: string[];
  waiting_runs: string[];
  last_runs: {
    job_id: string;
    status: JobStatus;
    scheduled_for?: string | null;
    created_at: number;
    completed_at?: number | null;
    output_path: string;
    message?: string | null;
    error_reason?: string | null;
  }[];
  history: IScheduleEvent[];
}

/**
 * The answer of `GET jupyter-mcp-ext/schedules`.
 */
export interface IScheduleList {
  schedules: ISchedule[];
  scheduler: { running: boolean; owner_pid?: number | null; message: string };
}

/**
 * The answer of `GET jupyter-mcp-ext/schedules/preview`.
 */
export interface ISchedulePreview {
  cron: string;
  timezone: string;
  description: string;
  next_runs: string[];
  output_path?: string;
  example_output_path?: string | null;
}

/**
 * The answer of `POST jupyter-mcp-ext/schedules/<id>/run`.
 */
export interface IScheduleRunResult {
  schedule: ISchedule;
  job: IJob | null;
  message: string;
}

/**
 * The `$id` of the job events (jupyter_mcp_ext/events/job.yaml).
 */
export const JOB_EVENT_SCHEMA_ID =
  'https://events.jupyter.org/jupyter_mcp_ext/job/v1';

/**
 * A job event, as `serviceManager.events.stream` delivers it.
 */
export interface IJobEvent {
  schema_id: string;
  action: 'created' | 'started' | 'progress' | 'updated' | 'finished' | 'deleted';
  job_id: string;
  status: JobStatus;
  notebook_path?: string;
  output_path?: string;
  cells_total?: number;
  cells_executed?: number;
  percent?: number;
  cell_running?: boolean;
  current_cell_index?: number | null;
  message?: string | null;
}

/**
 * The jobs REST API of the server.
 *
 * Every method throws `ServerConnection.NetworkError` when the server cannot be
 * reached and `ServerConnection.ResponseError` for a non-2xx answer; the latter's
 * `message` is the server's own sentence (its JSON `message`).
 */
export class JobsClient {
  constructor(serverSettings?: ServerConnection.ISettings) {
    this.serverSettings = serverSettings ?? ServerConnection.makeSettings();
  }

  readonly serverSettings: ServerConnection.ISettings;

  /**
   * All jobs, newest first, with the counts per status.
   */
  list(): Promise<IJobList> {
    return this._request<IJobList>(['jobs']);
  }

  get(jobId: string): Promise<IJob> {
    return this._request<IJob>(['jobs', jobId]);
  }

  create(request: IJobRequest): Promise<IJob> {
    return this._request<IJob>(['jobs'], {
      method: 'POST',
      body: JSON.stringify(request)
    });
  }

  /**
   * Cancel a queued or running job; resolves once it has stopped.
   */
  cancel(jobId: string): Promise<IJob> {
    return this._request<IJob>(['jobs', jobId, 'cancel'], { method: 'POST' });
  }

  /**
   * A new job of a finished job's notebook with the same arguments.
   */
  rerun(jobId: string): Promise<IJob> {
    return this._request<IJob>(['jobs', jobId, 'rerun'], { method: 'POST' });
  }

  /**
   * Delete a finished job's record and log (its output notebook stays).
   */
  async remove(jobId: string): Promise<void> {
    await this._request<void>(['jobs', jobId], { method: 'DELETE' });
  }

  logs(jobId: string, sinceLine: number, limit = 1000): Promise<ILogPage> {
    return this._request<ILogPage>(['jobs', jobId, 'logs'], {}, {
      since_line: String(sinceLine),
      limit: String(limit)
    });
  }

  /**
   * Every schedule, and whether this server runs them.
   */
  schedules(): Promise<IScheduleList> {
    return this._request<IScheduleList>(['schedules']);
  }

  createSchedule(request: IScheduleRequest): Promise<ISchedule> {
    return this._request<ISchedule>(['schedules'], {
      method: 'POST',
      body: JSON.stringify(request)
    });
  }

  /**
   * Change the fields given (`active: false` pauses, `true` resumes).
   */
  updateSchedule(scheduleId: string, changes: IScheduleRequest): Promise<ISchedule> {
    return this._request<ISchedule>(['schedules', scheduleId], {
      method: 'PATCH',
      body: JSON.stringify(changes)
    });
  }

  async removeSchedule(scheduleId: string): Promise<void> {
    await this._request<void>(['schedules', scheduleId], { method: 'DELETE' });
  }

  runSchedule(scheduleId: string): Promise<IScheduleRunResult> {
    return this._request<IScheduleRunResult>(['schedules', scheduleId, 'run'], {
      method: 'POST'
    });
  }

  /**
   * The next run times of a cron expression in a timezone (and, given a
   * notebook, the output path of its first run).
   */
  previewSchedule(
    cron: string,
    timezone: string,
    notebookPath?: string,
    init: RequestInit = {}
  ): Promise<ISchedulePreview> {
    const query: { [key: string]: string } = { cron, timezone, count: '3' };
    if (notebookPath) {
      query.notebook_path = notebookPath;
    }
    return this._request<ISchedulePreview>(['schedules', 'preview'], init, query);
  }

  notebookParameters(path: string): Promise<INotebookParameters> {
    return this._request<INotebookParameters>(['notebook-parameters'], {}, {
      path
    });
  }

  private _request<T>(
    parts: string[],
    init: RequestInit = {},
    query?: { [key: string]: string }
  ): Promise<T> {
    return requestAPI<T>(parts, { init, query, settings: this.serverSettings });
  }
}

/**
 * The sentence to show for a failed request: the server's message when it sent one.
 */
export function errorMessage(error: unknown): string {
  if (error instanceof ServerConnection.ResponseError) {
    return error.message || `${error.response.status} ${error.response.statusText}`;
  }
  return error instanceof Error ? error.message : String(error);
}
