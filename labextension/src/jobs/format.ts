/**
 * Pure helpers of the jobs UI: how durations, times and parameter values are
 * written, and how a typed parameter value is read back. No DOM, no server.
 */

/**
 * A duration in seconds as a person reads it: "0.4 s", "12 s", "3 min 05 s", "2 h 04 min".
 */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) {
    return '';
  }
  const s = Math.max(0, seconds);
  if (s < 10) {
    return `${s.toFixed(1)} s`;
  }
  if (s < 60) {
    return `${Math.floor(s)} s`;
  }
  const total = Math.floor(s);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const rest = total % 60;
  if (hours) {
    return `${hours} h ${String(minutes).padStart(2, '0')} min`;
  }
  return `${minutes} min ${String(rest).padStart(2, '0')} s`;
}

/**
 * A time (seconds since the epoch) as the clock time when it is today,
 * else with the date.
 */
export function formatTime(
  epochSeconds: number | null | undefined,
  now: Date = new Date(),
  locale?: string
): string {
  if (epochSeconds === null || epochSeconds === undefined) {
    return '';
  }
  const date = new Date(epochSeconds * 1000);
  const sameDay = date.toDateString() === now.toDateString();
  return sameDay
    ? date.toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit' })
    : date.toLocaleString(locale, {
        month: 'short',
        day: 'numeric',
        hour: '2-digit',
        minute: '2-digit'
      });
}

/**
 * A parameter value as it is shown in a job's row: strings quoted, the rest as JSON.
 */
export function formatValue(value: unknown, maxLength = 40): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > maxLength ? text.slice(0, maxLength - 1) + '…' : text;
}

/**
 * How a parameter's field reads what is typed into it.
 *
 * - `str`: the text as it is;
 * - `int`, `float`: a number;
 * - `bool`: true or false;
 * - `json`: a JSON value (list, dict, ...);
 * - `any`: JSON when the text is JSON (`42`, `[1, 2]`, `null`), else the text.
 */
export type ValueKind = 'str' | 'int' | 'float' | 'bool' | 'json' | 'any';

const TYPE_KINDS: { [name: string]: ValueKind } = {
  str: 'str',
  string: 'str',
  int: 'int',
  integer: 'int',
  float: 'float',
  number: 'float',
  bool: 'bool',
  boolean: 'bool',
  list: 'json',
  dict: 'json',
  tuple: 'json'
};

/**
 * The field kind of a parameter: from the type Papermill inferred when there is
 * one, else from its default value.
 */
export function valueKind(
  inferredTypeName: string | null | undefined,
  value: unknown,
  hasValue: boolean
): ValueKind {
  if (inferredTypeName) {
    const base = inferredTypeName.split('[')[0].trim().toLowerCase();
    const kind = TYPE_KINDS[base];
    if (kind) {
      return kind;
    }
  }
  if (!hasValue || value === null || value === undefined) {
    return 'any';
  }
  switch (typeof value) {
    case 'string':
      return 'str';
    case 'boolean':
      return 'bool';
    case 'number':
      return Number.isInteger(value) ? 'int' : 'float';
    default:
      return 'json';
  }
}

/**
 * The text a parameter's field starts with: the default value, or the default's
 * source when it is an expression.
 */
export function initialText(
  kind: ValueKind,
  value: unknown,
  hasValue: boolean,
  source: string
): string {
  if (!hasValue) {
    return source;
  }
  if (kind === 'str' && typeof value === 'string') {
    return value;
  }
  if (kind === 'bool') {
    return value ? 'true' : 'false';
  }
  return JSON.stringify(value);
}

/**
 * The result of reading a field: a value, or why the text is not one.
 */
export type Parsed =
  | { ok: true; value: unknown }
  | { ok: false; error: Exclude<ValueKind, 'str' | 'any'> };

/**
 * Read the text of a parameter's field as a value of its kind; a failure names
 * the kind the text is not (the caller says it in the user's language).
 */
export function parseValue(kind: ValueKind, text: string): Parsed {
  const trimmed = text.trim();
  switch (kind) {
    case 'str':
      return { ok: true, value: text };
    case 'int':
      if (/^[+-]?\d+$/.test(trimmed)) {
        return { ok: true, value: Number(trimmed) };
      }
      return { ok: false, error: 'int' };
    case 'float': {
      const number = Number(trimmed);
      if (trimmed !== '' && isFinite(number)) {
        return { ok: true, value: number };
      }
      return { ok: false, error: 'float' };
    }
    case 'bool':
      if (/^(true|false)$/i.test(trimmed)) {
        return { ok: true, value: trimmed.toLowerCase() === 'true' };
      }
      return { ok: false, error: 'bool' };
    case 'json':
      try {
        return { ok: true, value: JSON.parse(trimmed) };
      } catch {
        return { ok: false, error: 'json' };
      }
    case 'any':
      if (trimmed === '') {
        return { ok: true, value: '' };
      }
      try {
        return { ok: true, value: JSON.parse(trimmed) };
      } catch {
        return { ok: true, value: text };
      }
  }
}

/**
 * The name of a notebook path: its last segment.
 */
export function baseName(path: string): string {
  const parts = path.split('/');
  return parts[parts.length - 1] || path;
}

/**
 * A schedule's run time (ISO 8601 with an offset) in the browser's own time zone:
 * "today 07:00", "tomorrow 07:00", or "Tue, Dec 8, 07:00".
 */
export function formatRunTime(
  isoTime: string,
  now: Date = new Date(),
  locale?: string
): string {
  const date = new Date(isoTime);
  if (isNaN(date.getTime())) {
    return isoTime;
  }
  const clock = date.toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit' });
  const tomorrow = new Date(now);
  tomorrow.setDate(now.getDate() + 1);
  if (date.toDateString() === now.toDateString()) {
    return clock;
  }
  if (date.toDateString() === tomorrow.toDateString()) {
    return `${date.toLocaleDateString(locale, { weekday: 'short' })} ${clock}`;
  }
  return date.toLocaleString(locale, {
    weekday: 'short',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit'
  });
}

/**
 * The repeat choices of the "Run as Job…" dialog.
 */
export type RepeatKind = 'once' | 'hourly' | 'daily' | 'weekdays' | 'weekly' | 'custom';

/**
 * A repeat choice and its settings: `minute` (hourly), `time` ("HH:MM"), `day` (0-6, Sunday 0), `cron`.
 */
export interface IRepeat {
  kind: RepeatKind;
  minute?: number;
  time?: string;
  day?: number;
  cron?: string;
}

/**
 * The cron expression of a repeat choice, or null for "once" (or an unreadable time).
 */
export function repeatToCron(repeat: IRepeat): string | null {
  const [hours, minutes] = (repeat.time ?? '07:00').split(':').map(Number);
  const clock =
    Number.isInteger(hours) && Number.isInteger(minutes) ? `${minutes} ${hours}` : null;
  switch (repeat.kind) {
    case 'once':
      return null;
    case 'hourly':
      return `${Math.min(59, Math.max(0, Math.floor(repeat.minute ?? 0)))} * * * *`;
    case 'daily':
      return clock && `${clock} * * *`;
    case 'weekdays':
      return clock && `${clock} * * 1-5`;
    case 'weekly':
      return clock && `${clock} * * ${repeat.day ?? 1}`;
    case 'custom':
      return (repeat.cron ?? '').trim().split(/\s+/).join(' ') || null;
  }
}

/**
 * The repeat choice a cron expression reads as (a preset when it is one, else custom).
 */
export function cronToRepeat(cron: string): IRepeat {
  const fields = cron.trim().split(/\s+/);
  const number = /^\d+$/;
  if (fields.length === 5 && number.test(fields[0])) {
    const [minute, hour, dom, month, dow] = fields;
    if (hour === '*' && dom === '*' && month === '*' && dow === '*') {
      return { kind: 'hourly', minute: Number(minute) };
    }
    if (number.test(hour) && dom === '*' && month === '*') {
      const time = `${hour.padStart(2, '0')}:${minute.padStart(2, '0')}`;
      if (dow === '*') {
        return { kind: 'daily', time };
      }
      if (dow === '1-5') {
        return { kind: 'weekdays', time };
      }
      if (/^[0-6]$/.test(dow)) {
        return { kind: 'weekly', time, day: Number(dow) };
      }
    }
  }
  return { kind: 'custom', cron };
}
