/**
 * The Athena named queries of the audit trail (src/audit/queries.ts), run verbatim with DuckDB over audit output
 * the local runner really produced: a pipeline run end to end with FLAGGED, ACCEPTED, LOW_CONFIDENCE and ERROR
 * images, its Firehose objects (GZIP JSON lines) downloaded from the S3 peer, and a view that reads them as the Glue
 * table does: the columns of AUDIT_COLUMNS with their Hive types, and the partition `dt` from the key
 * (`results/yyyy/MM/dd/...`, partition projection's `storage.location.template`).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ImageClassificationPipeline, Ingestion } from 'cdk-image-classification-pipeline';
import { AUDIT_QUERIES } from 'cdk-image-classification-pipeline/lib/audit/queries';
import { AUDIT_COLUMNS, AUDIT_PARTITION_COLUMN, AUDIT_TABLE_NAME } from 'cdk-image-classification-pipeline/lib/audit/schema';
import { images } from '../../test/handlers/fixtures';
import { icsProps } from '../../test/stacks';
import { functionModel } from '../src/models/function-model';
import { LocalExecution, LocalPipeline } from '../src/runner';
import { CfnTemplate } from '../src/template-resolver';

/** Score vectors (bicycle, motorcycle, pickup_truck, bus, tank, tractor) by the padding byte count of the image. */
const SCORES: Record<number, unknown> = {
  1: [0.01, 0.97, 0.01, 0.005, 0.0025, 0.0025], // FLAGGED motorcycle
  2: [0.01, 0.01, 0.01, 0.96, 0.005, 0.005], // ACCEPTED bus
  3: [0.1, 0.1, 0.1, 0.1, 0.1, 0.5], // LOW_CONFIDENCE tractor
  4: [0.05, 0.05, 0.05, 0.7, 0.1, 0.05], // LOW_CONFIDENCE bus
  5: [0.95, 0.01, 0.01, 0.01, 0.01, 0.01], // ACCEPTED bicycle
  6: { oops: 'not scores' }, // ERROR MalformedModelResponse
};
const imageFor = (n: number) => Buffer.concat([images.jpeg, Buffer.alloc(n, 0)]);

/** A Hive type of the Glue table as DuckDB's: string, bigint, double, map<k,v>, array<t>, struct<f:t,...>. */
export function duckdbType(hive: string): string {
  let at = 0;
  const name = () => /^[a-z_][a-z0-9_]*/i.exec(hive.slice(at))![0];
  const expect = (c: string) => {
    if (hive[at] !== c) throw new Error(`expected ${c} at ${at} in ${hive}`);
    at++;
  };
  const parse = (): string => {
    const word = name().toLowerCase();
    at += word.length;
    switch (word) {
      case 'string': return 'VARCHAR';
      case 'bigint': return 'BIGINT';
      case 'double': return 'DOUBLE';
      case 'boolean': return 'BOOLEAN';
      case 'map': {
        expect('<');
        const k = parse();
        expect(',');
        const v = parse();
        expect('>');
        return `MAP(${k}, ${v})`;
      }
      case 'array': {
        expect('<');
        const t = parse();
        expect('>');
        return `${t}[]`;
      }
      case 'struct': {
        expect('<');
        const fields: string[] = [];
        for (;;) {
          const field = name();
          at += field.length;
          expect(':');
          fields.push(`"${field}" ${parse()}`);
          if (hive[at] === ',') at++;
          else break;
        }
        expect('>');
        return `STRUCT(${fields.join(', ')})`;
      }
      default: throw new Error(`no DuckDB type for Hive type ${word}`);
    }
  };
  const type = parse();
  if (at !== hive.length) throw new Error(`unparsed rest of ${hive}: ${hive.slice(at)}`);
  return type;
}

describe('the audit trail\'s Athena named queries, run with DuckDB over the runner\'s Firehose output', () => {
  let local: LocalPipeline;
  let dir: string;
  let instance: DuckDBInstance;
  let db: DuckDBConnection;
  const runs: LocalExecution[] = [];
  let today: string;

  beforeAll(async () => {
    const stack = new Stack(new App(), 'Local');
    // Defaults: the audit trail goes through the Firehose delivery stream.
    new ImageClassificationPipeline(stack, 'Ics', { ...icsProps(), ingestion: Ingestion.direct() });
    local = await LocalPipeline.start({
      template: Template.fromStack(stack).toJSON() as CfnTemplate,
      models: { vehicles: functionModel((bytes) => (SCORES[bytes.length - images.jpeg.length] ?? SCORES[2]) as any) },
      // Several objects, so the table reads across files.
      firehoseMaxRecordsPerObject: 4,
    });
    const uploads: Array<[string, Buffer]> = [
      ...[1, 1, 1].map((n, i) => [`cams/flagged-${i}.jpg`, imageFor(n)] as [string, Buffer]),
      ...[2, 2, 2, 5].map((n, i) => [`cams/accepted-${i}.jpg`, imageFor(n)] as [string, Buffer]),
      ['cams/unsure-tractor.jpg', imageFor(3)],
      ['cams/unsure-bus.jpg', imageFor(4)],
      ['cams/empty-1.jpg', Buffer.alloc(0)],
      ['cams/empty-2.jpg', Buffer.alloc(0)],
      ['cams/notes.jpg', Buffer.from('this is a text file, not a photo')],
      ['cams/odd.jpg', imageFor(6)],
    ];
    for (const [key, body] of uploads) runs.push(await local.upload(key, body));
    await local.flushAuditTrail();

    // The objects as they are in the audit bucket, under the same keys (the view's dt comes from the key).
    dir = await mkdtemp(path.join(tmpdir(), 'ics-audit-'));
    const { bucket } = runs[0].auditRecords[0];
    const client = local.s3.client();
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'results/' }));
    // 14 records, at most 4 per object.
    expect(listed.Contents?.map((o) => o.Key)).toHaveLength(4);
    for (const { Key } of listed.Contents ?? []) {
      const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key }));
      const file = path.join(dir, Key!);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, await got.Body!.transformToByteArray());
    }
    client.destroy();

    // The OpenX SerDe matches the records' camelCase keys to the lower-case columns case-insensitively; DuckDB's
    // read_json matches keys exactly, so each column is read under the key the records spell it with.
    const spelled = new Map(runs.flatMap((r) => Object.keys(r.result)).map((k) => [k.toLowerCase(), k]));
    const columns = AUDIT_COLUMNS.map((c) => `"${spelled.get(c.name) ?? c.name}": '${duckdbType(c.type)}'`).join(', ');
    const select = AUDIT_COLUMNS.map((c) => `"${spelled.get(c.name) ?? c.name}" AS ${c.name}`).join(', ');
    instance = await DuckDBInstance.create(':memory:');
    db = await instance.connect();
    await db.run([
      `CREATE VIEW ${AUDIT_TABLE_NAME} AS SELECT ${select},`,
      `  regexp_extract(filename, '(\\d{4}/\\d{2}/\\d{2})/', 1) AS ${AUDIT_PARTITION_COLUMN.name}`,
      `FROM read_json('${dir}/**/*.gz', format = 'newline_delimited', compression = 'gzip', filename = true, columns = {${columns}})`,
    ].join('\n'));
    today = new Date(local.clock.now()).toISOString().slice(0, 10).replace(/-/g, '/');
  }, 120_000);

  afterAll(async () => {
    db?.closeSync();
    instance?.closeSync();
    await local?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const query = async (id: string, first: string, last: string) => {
    const sql = AUDIT_QUERIES.find((q) => q.id === id)!.sql;
    return (await db.runAndReadAll(sql, [first, last])).getRowObjectsJson() as any[];
  };
  const results = () => runs.map((r) => r.result);

  test('the pipeline produced every outcome, and the view reads every record with its Glue types', async () => {
    expect(runs.map((r) => r.result.outcome).sort()).toEqual([
      ...Array(3).fill('ACCEPTED'), 'ACCEPTED', ...Array(4).fill('ERROR'), ...Array(3).fill('FLAGGED'), 'LOW_CONFIDENCE', 'LOW_CONFIDENCE',
    ]);
    const rows = (await db.runAndReadAll(`SELECT * FROM ${AUDIT_TABLE_NAME} ORDER BY executionarn`)).getRowObjectsJson() as any[];
    expect(rows).toHaveLength(runs.length);
    const byArn = new Map(results().map((r) => [r.executionArn, r]));
    for (const row of rows) {
      const result = byArn.get(row.executionarn)!;
      expect(row).toMatchObject({
        dt: today,
        schemaversion: result.schemaVersion,
        outcome: result.outcome,
        key: result.key,
        label: result.label ?? null,
        classifiedat: result.classifiedAt,
        error: result.error ? expect.objectContaining({ name: result.error.name }) : null,
      });
      // map<string,double> and array<struct<label,score>> typed as the Glue table declares them.
      if (result.scores) expect(Object.fromEntries(row.scores.map((e: any) => [e.key, e.value]))).toEqual(result.scores);
      if (result.topK) expect(row.topk).toEqual(result.topK);
    }
  });

  test('outcomes-per-day: images per outcome for the day; an earlier period has none', async () => {
    expect(await query('outcomes-per-day', today, today)).toEqual([
      { dt: today, outcome: 'ACCEPTED', images: '4' },
      { dt: today, outcome: 'ERROR', images: '4' },
      { dt: today, outcome: 'FLAGGED', images: '3' },
      { dt: today, outcome: 'LOW_CONFIDENCE', images: '2' },
    ]);
    expect(await query('outcomes-per-day', '2026/01/01', '2026/01/02')).toEqual([]);
  });

  test('flagged-images: the FLAGGED keys, oldest first, with label, confidence and execution', async () => {
    const flagged = results().filter((r) => r.outcome === 'FLAGGED').sort((a, b) => a.classifiedAt.localeCompare(b.classifiedAt) || a.key.localeCompare(b.key));
    const rows = await query('flagged-images', today, today);
    expect(rows.map((r) => r.key)).toEqual(['cams/flagged-0.jpg', 'cams/flagged-1.jpg', 'cams/flagged-2.jpg']);
    expect(rows).toEqual(flagged.map((r) => ({
      dt: today,
      classifiedat: r.classifiedAt,
      bucket: r.bucket,
      key: r.key,
      versionid: r.versionId ?? null,
      label: 'motorcycle',
      confidence: 0.97,
      executionarn: r.executionArn,
    })));
  });

  test('errors-by-name: ERROR images per error name, most frequent first, with first and last seen', async () => {
    const errors = results().filter((r) => r.outcome === 'ERROR');
    const seen = (name: string) => errors.filter((r) => r.error.name === name).map((r) => r.classifiedAt).sort();
    expect(await query('errors-by-name', today, today)).toEqual([
      { error_name: 'EmptyObject', images: '2', first_seen: seen('EmptyObject')[0], last_seen: seen('EmptyObject')[1] },
      { error_name: 'MalformedModelResponse', images: '1', first_seen: seen('MalformedModelResponse')[0], last_seen: seen('MalformedModelResponse')[0] },
      { error_name: 'UnsupportedImageFormat', images: '1', first_seen: seen('UnsupportedImageFormat')[0], last_seen: seen('UnsupportedImageFormat')[0] },
    ]);
  });

  test('low-confidence-rate-per-label: LOW_CONFIDENCE share per top label, ERROR images left out', async () => {
    expect(await query('low-confidence-rate-per-label', today, today)).toEqual([
      { label: 'tractor', images: '1', low_confidence: '1', low_confidence_rate: 1 },
      { label: 'bus', images: '4', low_confidence: '1', low_confidence_rate: 0.25 },
      { label: 'bicycle', images: '1', low_confidence: '0', low_confidence_rate: 0 },
      { label: 'motorcycle', images: '3', low_confidence: '0', low_confidence_rate: 0 },
    ]);
  });

  test('duckdbType maps the Glue table\'s Hive types', () => {
    expect(AUDIT_COLUMNS.map((c) => duckdbType(c.type))).toContain('STRUCT("label" VARCHAR, "score" DOUBLE)[]');
    expect(duckdbType('map<string,double>')).toBe('MAP(VARCHAR, DOUBLE)');
    expect(duckdbType('struct<name:string,cause:string,action:string>')).toBe('STRUCT("name" VARCHAR, "cause" VARCHAR, "action" VARCHAR)');
  });
});
