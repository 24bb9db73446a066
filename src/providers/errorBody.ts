import type { ProviderErrorBody } from './spec.ts';

/** Names shown per list; a body refusing more fields says how many it left out. */
const MAX_SHOWN = 10;
/**
 * A code, a problem type or a field name is a short token. A value with other characters (an `@`, quotes, a `+`)
 * or a phone number's run of digits is a value the CRM echoed, not a name, and is left out.
 */
const NAME = /^[\p{L}\p{N} _.:/#[\]-]{1,100}$/u;
const PHONE_LIKE = /\d(?:[\s().-]*\d){6,}/;
const MEDIA_TYPE = /^[\w.+-]+\/[\w.+-]+$/;
const byteCount = new Intl.NumberFormat('en-GB');

/**
 * What a failed call's message says of the body the CRM answered with, after `→ <status>`. The message reaches a
 * connection's last error, the audit, the admin API and the worker's log, and a CRM's error may quote what it was
 * sent (ASP.NET model validation quotes the rejected value, a 409 can return the record it clashes with, a proxy's
 * HTML page can hold the request). So only what `shape` names as codes and field names is shown, and the rest of
 * the body is not: its size and media type say there was one.
 */
export function describeErrorBody(params: {
  shape: ProviderErrorBody;
  status: number;
  text: string;
  /** The body parsed, `undefined` when it is not JSON. */
  json: unknown;
  contentType: string | null;
}): string {
  if (params.text.length === 0) return '';
  const found = (paths: readonly string[]) =>
    [...new Set(paths.flatMap((path) => valuesAt(params.json, path)))].filter(
      // Street repeats the status as its `code` [S3].
      (value) => value !== String(params.status) && NAME.test(value) && !PHONE_LIKE.test(value),
    );
  const kinds = found(params.shape.kind);
  const fields = found(params.shape.fields);
  const mediaType = params.contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  const size = `${byteCount.format(Buffer.byteLength(params.text))} bytes${MEDIA_TYPE.test(mediaType) ? ` of ${mediaType}` : ''}`;
  return [
    kinds.length > 0 ? ` ${list(kinds)}` : '',
    fields.length > 0 ? ` (fields: ${list(fields)})` : '',
    `; body not shown (${size}; may hold personal data)`,
  ].join('');
}

function list(values: readonly string[]): string {
  const shown = values.slice(0, MAX_SHOWN).join(', ');
  return values.length > MAX_SHOWN ? `${shown} and ${values.length - MAX_SHOWN} more` : shown;
}

/** The strings (and numbers, as text) at `path` in `json`; the keys of the object there for a path ending `{}`. */
function valuesAt(json: unknown, path: string): string[] {
  const keys = path.endsWith('{}');
  let nodes: unknown[] = [json];
  for (const segment of (keys ? path.slice(0, -2) : path).split('.')) {
    const each = segment.endsWith('[]');
    const name = each ? segment.slice(0, -2) : segment;
    nodes = nodes.flatMap((node) => (isRecord(node) && Object.hasOwn(node, name) ? [node[name]] : []));
    if (each) nodes = nodes.flatMap((node) => (Array.isArray(node) ? node : []));
  }
  if (keys) return nodes.flatMap((node) => (isRecord(node) ? Object.keys(node) : []));
  return nodes.flatMap((node) =>
    typeof node === 'string' ? [node] : typeof node === 'number' ? [String(node)] : [],
  );
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);
