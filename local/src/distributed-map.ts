import { randomUUID } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

/**
 * A Distributed Map run the way Step Functions runs one, for the interpreter that ignores ItemReader and
 * ResultWriter: read the items (S3 listing, or a CSV/JSON/JSONL object), apply ItemSelector, run the item
 * processor once per item as its own child execution, check the tolerated failure percentage, and write
 * the results in the result writer's layout (`<prefix>/<run id>/manifest.json`, `SUCCEEDED_0.json`,
 * `FAILED_0.json`).
 */

export interface ChildRun {
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
}

export interface DistributedMapDeps {
  readonly s3: S3Client;
  readonly executionArn: string;
  /** Runs the item processor on one item. */
  runChild(input: unknown): Promise<ChildRun>;
}

const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);

function readPath(root: unknown, path: string): unknown {
  return path.split('.').filter(Boolean).reduce<any>((v, k) => (isObject(v) ? v[k] : undefined), root);
}

/** Evaluates a Parameters/ItemSelector template: `key.$` values are paths into the input or the context. */
export function evaluateTemplate(template: unknown, input: unknown, context: Record<string, unknown>): unknown {
  if (Array.isArray(template)) return template.map((t) => evaluateTemplate(t, input, context));
  if (!isObject(template)) return template;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(template)) {
    if (key.endsWith('.$') && typeof value === 'string') {
      out[key.slice(0, -2)] = value.startsWith('$$') ? readPath(context, value.slice(2)) : value === '$' ? input : readPath(input, value.slice(1));
    } else {
      out[key] = evaluateTemplate(value, input, context);
    }
  }
  return out;
}

/** Parses CSV with a header row (RFC 4180 quoting) into one object per row. */
export function parseCsv(text: string): Array<Record<string, string>> {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else {
      field += c;
    }
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  const [header, ...data] = rows.filter((r) => r.length > 1 || r[0] !== '');
  return data.map((r) => Object.fromEntries((header ?? []).map((h, i) => [h, r[i] ?? ''])));
}

async function readItems(reader: any, input: unknown, s3: S3Client): Promise<unknown[]> {
  const params = evaluateTemplate(reader.Parameters ?? {}, input, {}) as Record<string, any>;
  if (reader.Resource === 'arn:aws:states:::s3:listObjectsV2') {
    const items: unknown[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: params.Bucket, Prefix: params.Prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) items.push({ Key: o.Key, Size: o.Size, ETag: o.ETag, LastModified: o.LastModified?.toISOString() });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return items;
  }
  if (reader.Resource === 'arn:aws:states:::s3:getObject') {
    const res = await s3.send(new GetObjectCommand({ Bucket: params.Bucket, Key: params.Key }));
    const text = await res.Body!.transformToString();
    switch (reader.ReaderConfig?.InputType) {
      case 'CSV': return parseCsv(text);
      case 'JSON': return JSON.parse(text);
      case 'JSONL': return text.split(/\r?\n/).filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
      default: throw new Error(`The local runner does not read ItemReader input type ${reader.ReaderConfig?.InputType}`);
    }
  }
  throw new Error(`The local runner does not implement ItemReader ${reader.Resource}`);
}

/** Runs one Distributed Map state on its input and returns the state's result. */
export async function runDistributedMap(state: any, input: unknown, deps: DistributedMapDeps): Promise<unknown> {
  const selected = (await readItems(state.ItemReader, input, deps.s3)).map((item, index) => (state.ItemSelector
    ? evaluateTemplate(state.ItemSelector, input, { Map: { Item: { Value: item, Index: index } } })
    : item));
  // ItemBatcher: children get { Items: [...] } of at most MaxItemsPerBatch selected items.
  const size = state.ItemBatcher?.MaxItemsPerBatch;
  const items: unknown[] = size
    ? Array.from({ length: Math.ceil(selected.length / size) }, (_, i) => ({ Items: selected.slice(i * size, (i + 1) * size) }))
    : selected;
  const concurrency = Math.max(1, Math.min(state.MaxConcurrency ?? 8, 8));
  const mapRunId = randomUUID();
  const mapRunArn = `${deps.executionArn.replace(':execution:', ':mapRun:')}/${mapRunId}`;
  const results: Array<Record<string, unknown>> = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      const childInput = items[index];
      const run = await deps.runChild(childInput);
      results[index] = {
        ExecutionArn: `${mapRunArn}:${index}`,
        Input: JSON.stringify(childInput),
        Status: run.status,
        ...(run.status === 'SUCCEEDED' ? { Output: JSON.stringify(run.output) } : { Error: run.error, Cause: run.cause }),
      };
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));

  // Tolerance counts items: a failed batch fails every item in it.
  const weight = (i: number) => ((items[i] as any)?.Items?.length as number | undefined) ?? 1;
  const failedItems = results.reduce((n, r, i) => n + (r.Status === 'FAILED' ? weight(i) : 0), 0);
  const tolerated = state.ToleratedFailurePercentage ?? 0;
  if (selected.length > 0 && (failedItems / selected.length) * 100 > tolerated) {
    throw Object.assign(new Error(`${failedItems} of ${selected.length} items failed; tolerated: ${tolerated}%`), {
      name: 'States.ExceedToleratedFailureThreshold',
    });
  }

  const writer = state.ResultWriter;
  if (!writer) return results.map((r) => (r.Output ? JSON.parse(r.Output as string) : null));
  const { Bucket, Prefix } = evaluateTemplate(writer.Parameters ?? {}, input, {}) as Record<string, string>;
  const base = `${Prefix ? `${Prefix.replace(/\/$/, '')}/` : ''}${mapRunId}`;
  const files: Record<string, Array<{ Key: string; Size: number }>> = { FAILED: [], PENDING: [], SUCCEEDED: [] };
  for (const status of ['SUCCEEDED', 'FAILED'] as const) {
    const entries = results.filter((r) => r.Status === status);
    if (entries.length === 0) continue;
    const body = JSON.stringify(entries);
    const key = `${base}/${status}_0.json`;
    await deps.s3.send(new PutObjectCommand({ Bucket, Key: key, Body: body }));
    files[status].push({ Key: key, Size: Buffer.byteLength(body) });
  }
  const manifestKey = `${base}/manifest.json`;
  await deps.s3.send(new PutObjectCommand({
    Bucket,
    Key: manifestKey,
    Body: JSON.stringify({ DestinationBucket: Bucket, MapRunArn: mapRunArn, ResultFiles: files }),
  }));
  return { MapRunArn: mapRunArn, ResultWriterDetails: { Bucket, Key: manifestKey } };
}
