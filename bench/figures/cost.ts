/* eslint-disable import/no-extraneous-dependencies */
import { createHash, randomUUID } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { cloudWatchLogBytes, loggingConfigurationOf, renderLogRecords, StepFunctionsLogging } from '../../local/src/execution-log';
import { functionModel } from '../../local/src/models/function-model';
import { LocalExecution, LocalPipeline } from '../../local/src/runner';
import { CfnTemplate } from '../../local/src/template-resolver';
import { AuditTrail, BulkMode, Ingestion } from '../../src';
import { BilledFunction, billedFunctions, DesignName, hostOf, icsTemplate, referenceTemplate, startDesign } from '../lib/designs';
import { pngOfSize } from '../lib/images';
import { PRICES } from '../lib/prices';
import { probe, s3Operation, s3RequestClass } from '../lib/probes';
import { handlerLogBytes, handlerLogLines } from '../lib/quiet';
import { meterQueue, SqsMeter } from '../lib/sqs-meter';
import { round, summarize, Summary } from '../lib/stats';
import { LambdaCall, takeLambdaCalls } from '../lib/timed-handlers';

/** The workload every cost scenario runs: 20 distinct 100 KB PNGs, 2 of them FLAGGED (10 %), the rest ACCEPTED. */
export const WORKLOAD = { images: 20, flagged: 2, bytes: 100_000 };
const SCORES = { accepted: [0.01, 0.01, 0.01, 0.96, 0.005, 0.005], flagged: [0.01, 0.97, 0.01, 0.005, 0.0025, 0.0025] };

/** Work per image, counted from the executions of one scenario run. */
export interface WorkPerImage {
  /** State transitions of executions billed as Standard (StateEntered + StateRetried). */
  readonly standardTransitions: number;
  /** Express executions started (each is a request). */
  readonly expressRequests: number;
  /** Express GB-seconds: each execution's duration rounded up to 100 ms, at 64 MB. */
  readonly expressGbSeconds: number;
  readonly lambdaInvocations: number;
  /** Σ handler wall time rounded up to 1 ms × the function's configured memory. */
  readonly lambdaGbSeconds: number;
  /** Invocations and GB-seconds by function (`classify`, `dispatch`, `summarize`; the reference's three). */
  readonly lambdaByFunction: Record<string, { invocations: number; gbSeconds: number }>;
  readonly snsPublishes: number;
  readonly eventBridgeEvents: number;
  readonly s3Requests: Record<string, number>;
  /** Queued ingestion: billed SQS requests on the ingest queue, by action (64 KB chunks). */
  readonly sqsRequests: Record<string, number>;
  /** Queued ingestion: the dispatch function's DynamoDB requests (idempotency records), by operation. */
  readonly dynamoDbRequests: Record<string, number>;
  readonly dynamoDbWriteUnits: number;
  readonly dynamoDbReadUnits: number;
  /** Queued ingestion: StartSyncExecution calls (each is the Express execution's request, counted there). */
  readonly startSyncExecutions: number;
  readonly endpointInvocations: number;
  /** Bytes of state inputs and outputs (all executions), as the probe saw them. */
  readonly stateDataBytes: number;
  /**
   * CloudWatch Logs bytes of the state machines' execution logs at the template's LoggingConfiguration (records
   * emulated from the executions, local/src/execution-log.ts: UTF-8 JSON of each record + 26 bytes per event).
   */
  readonly stateMachineLogBytes: number;
  readonly stateMachineLogEvents: number;
  /** The same executions' log bytes rendered at level ALL and at ERROR (the template's IncludeExecutionData). */
  readonly stateMachineLogBytesAt: { readonly ALL: number; readonly ERROR: number };
  /** Bytes of the JSON log lines (Powertools logs, EMF metrics) the handlers wrote, + 26 per line. */
  readonly handlerLogBytes: number;
  readonly handlerLogEvents: number;
  /** Lambda's own START, END and REPORT lines (REPORT with the X-Ray ids under active tracing), + 26 per line. */
  readonly lambdaPlatformLogBytes: number;
  /** All CloudWatch Logs ingestion: state machines + handlers + Lambda's lines. */
  readonly logBytes: number;
  /** Audit records put into Firehose (0 when the audit trail is off or written as objects). */
  readonly firehoseRecords: number;
  /** Mean UTF-8 size of a record as put (`States.JsonToString($.result)`; Firehose's newline is added after ingestion). */
  readonly firehoseRecordBytes: number;
  /** Ingested bytes as billed: each record rounded up to 5 KB. */
  readonly firehoseBilledBytes: number;
  /** S3 objects Firehose delivers, per image, at the template's buffering hints and 1M images per 30 days. */
  readonly firehoseObjects: number;
}

export interface CostBreakdown {
  readonly stepFunctions: number;
  readonly lambda: number;
  readonly sns: number;
  readonly eventBridge: number;
  readonly s3: number;
  readonly sqs: number;
  readonly dynamoDb: number;
  /** CloudWatch Logs ingestion: the state machines' vended logs and the functions' logs. */
  readonly cloudWatchLogs: number;
  /** Firehose ingestion (5 KB steps) and the S3 PUTs of the objects it delivers. */
  readonly firehose: number;
  /** Every line above: the all-in total. */
  readonly total: number;
  /**
   * The part of the total that is charged per request alone (Express requests, Standard transitions, Lambda requests,
   * SNS, EventBridge, S3, SQS, DynamoDB): no duration, no log or Firehose bytes. A floor no tuning of memory, logs or
   * latency can lower; only fewer requests can.
   */
  readonly perRequest: number;
}

export interface CostScenarioResult {
  readonly id: string;
  readonly design: DesignName;
  readonly label: string;
  readonly work: WorkPerImage;
  /** USD per 1 million images, by service, from the median run; the total includes CloudWatch Logs and Firehose. */
  readonly usdPerMillion: CostBreakdown;
  /** The LoggingConfiguration of the state machine the scenario starts (per-image, or bulk for the bulk paths). */
  readonly stateMachineLogging: StepFunctionsLogging;
  /** What the state machines' logs would cost per 1M images at level ALL and at ERROR (the same executions rendered). */
  readonly stateMachineLogsUsdPerMillionAt: { readonly ALL: number; readonly ERROR: number };
  /** Total USD per 1 million images over the runs (durations vary). */
  readonly usdPerMillionRuns: Summary;
  readonly lambdaGbSecondsRuns: Summary;
  readonly notes: string;
  /** The model's latency in this scenario (ms); absent for the zero-latency model. */
  readonly modelLatencyMs?: number;
}

interface Scenario {
  readonly id: string;
  readonly design: DesignName;
  readonly label: string;
  readonly template: () => CfnTemplate;
  /** How the executions of this scenario are billed. */
  readonly rootType: 'STANDARD' | 'EXPRESS';
  readonly childType?: 'STANDARD' | 'EXPRESS';
  readonly run: (local: LocalPipeline, images: Array<{ key: string; bytes: Buffer }>) => Promise<LocalExecution[]>;
  readonly notes: string;
  /** The model's latency per request (real time); the other rows use a zero-latency model. */
  readonly modelLatencyMs?: number;
}

/** What the queued path's meters saw during one run. */
interface QueuedCounts {
  readonly sqs: SqsMeter;
  /** Size of the largest idempotency record at the end of the run (DynamoDB's item size rules, approximately). */
  readonly itemBytes: number;
}

const single = async (local: LocalPipeline, images: Array<{ key: string; bytes: Buffer }>) => {
  const runs: LocalExecution[] = [];
  for (const image of images) runs.push(await local.upload(image.key, image.bytes));
  return runs;
};

/** Every upload at once: the ingest queue holds several messages when the pollers receive. */
const together = (local: LocalPipeline, images: Array<{ key: string; bytes: Buffer }>) =>
  Promise.all(images.map((image) => local.upload(image.key, image.bytes)));

const putAll = async (local: LocalPipeline, images: Array<{ key: string; bytes: Buffer }>) => {
  const client = local.s3.client();
  for (const image of images) await client.send(new PutObjectCommand({ Bucket: local.bucketName, Key: image.key, Body: image.bytes }));
  client.destroy();
};

/** One inline batch listing every image in its input. */
const inlineBatch = async (local: LocalPipeline, images: Array<{ key: string; bytes: Buffer }>) => {
  await putAll(local, images);
  return [await local.startBulkExecution({ images: images.map((i) => ({ key: i.key })) })];
};

/**
 * Latency of the endpoint in the two "model" rows: a CPU-hosted image classifier on a real-time or a warm serverless
 * endpoint answers in roughly 100 to 500 ms. Every other row uses a zero-latency model, which hides what waiting costs.
 */
export const MODEL_LATENCY_MS = 200;

export const SCENARIOS: Scenario[] = [
  {
    id: 'ics-single-express-queued',
    design: 'ICS',
    label: 'ICS default (Express, queued)',
    rootType: 'EXPRESS',
    template: () => icsTemplate({ ingestion: Ingestion.queued() }),
    run: single,
    notes: 'the README\'s one-statement example: tags, alerts, audit trail and result events on. S3 upload → EventBridge → SQS '
      + 'ingest queue → event source mapping → dispatch function (Powertools idempotency in DynamoDB) → StartSyncExecution of the '
      + 'Express state machine; uploads one at a time, so each batch holds one message',
  },
  {
    id: 'ics-default-backlog',
    design: 'ICS',
    label: 'ICS default, uploads arriving together',
    rootType: 'EXPRESS',
    // Two batches in flight at most: handlers sharing this process's event loop would otherwise time each other.
    template: () => icsTemplate({ ingestion: Ingestion.queued({ maxConcurrency: 2 }) }),
    run: together,
    notes: `the default, with the ${WORKLOAD.images} uploads sent at once (a busy pipeline, or a backlog after an outage) and `
      + '`maxConcurrency: 2`: the event source mapping receives and deletes several messages per request and invokes the dispatch '
      + 'function once per batch',
  },
  {
    id: 'ics-alerts-only',
    design: 'ICS',
    label: 'ICS alerts-only (the reference\'s features)',
    rootType: 'EXPRESS',
    template: () => icsTemplate({ tagObjects: false, auditTrail: { enabled: false }, resultEvents: { enabled: false } }),
    run: single,
    notes: 'what the reference does and no more: classify, alert on a confident flagged label; tagObjects off, no audit trail, no '
      + 'result events (queued ingestion, the default)',
  },
  {
    id: 'ics-alerts-only-direct',
    design: 'ICS',
    label: 'ICS alerts-only, direct ingestion, logLevel ERROR',
    rootType: 'EXPRESS',
    template: () => icsTemplate({
      tagObjects: false, auditTrail: { enabled: false }, resultEvents: { enabled: false }, ingestion: Ingestion.direct(), logLevel: sfn.LogLevel.ERROR,
    }),
    run: single,
    notes: 'the reference\'s features with the reference\'s ingestion (the rule starts each execution: no queue, no deduplication) and '
      + 'the state machine logging failures only, so the outcome metrics stay empty (the construct warns) as the reference has none',
  },
  {
    id: 'ics-default-log-all',
    design: 'ICS',
    label: 'ICS default, logLevel ALL',
    rootType: 'EXPRESS',
    template: () => icsTemplate({ ingestion: Ingestion.queued(), logLevel: sfn.LogLevel.ALL }),
    run: single,
    notes: 'the default with `logLevel: sfn.LogLevel.ALL` (execution data included): what logging every event costs',
  },
  {
    id: 'ics-default-object-per-image',
    design: 'ICS',
    label: 'ICS default, AuditTrail.objectPerImage()',
    rootType: 'EXPRESS',
    template: () => icsTemplate({ ingestion: Ingestion.queued(), auditTrail: { delivery: AuditTrail.objectPerImage() } }),
    run: single,
    notes: 'the default with one S3 PutObject per audit record instead of the Firehose delivery stream',
  },
  {
    id: 'ics-single-express-direct',
    design: 'ICS',
    label: 'ICS, Express, direct',
    rootType: 'EXPRESS',
    template: () => icsTemplate({ ingestion: Ingestion.direct() }),
    run: single,
    notes: 'Ingestion.direct(): S3 upload → EventBridge → Express state machine',
  },
  {
    id: 'ics-single-standard',
    design: 'ICS',
    label: 'ICS, one execution per upload, Standard (direct)',
    rootType: 'STANDARD',
    template: () => icsTemplate({ workflowType: sfn.StateMachineType.STANDARD }),
    run: single,
    notes: 'workflowType: STANDARD (its default ingestion is direct: StartSyncExecution runs Express machines only)',
  },
  {
    id: 'ics-bulk-inline',
    design: 'ICS',
    label: 'ICS bulk, inline Map (Standard parent)',
    rootType: 'STANDARD',
    // maxConcurrency 1 in both bulk paths: the counts do not depend on it, and handlers timed one at a time are not
    // slowed by sharing this process's event loop (on AWS each invocation has its own environment).
    template: () => icsTemplate({ bulkMode: BulkMode.inline({ maxConcurrency: 1 }) }),
    run: inlineBatch,
    notes: `one batch of ${WORKLOAD.images} images, listed in the input`,
  },
  {
    id: 'ics-bulk-inline-express',
    design: 'ICS',
    label: 'ICS bulk, inline Map (Express parent)',
    rootType: 'EXPRESS',
    template: () => icsTemplate({ bulkMode: BulkMode.inline({ maxConcurrency: 1, executionType: sfn.StateMachineType.EXPRESS }) }),
    run: inlineBatch,
    notes: `one batch of ${WORKLOAD.images} images, listed in the input; BulkMode.inline({ executionType: EXPRESS })`,
  },
  {
    id: 'ics-bulk-distributed',
    design: 'ICS',
    label: 'ICS bulk, Distributed Map, Express children',
    rootType: 'STANDARD',
    childType: 'EXPRESS',
    template: () => icsTemplate({ bulkMode: BulkMode.distributed({ maxConcurrency: 1 }) }),
    run: async (local, images) => {
      await putAll(local, images);
      return [await local.startBulkExecution({ prefix: 'batch/' })];
    },
    notes: `one batch of ${WORKLOAD.images} images from an S3 listing, one Express child per image`,
  },
  {
    id: 'ics-default-model-latency',
    design: 'ICS',
    label: `ICS default, ${MODEL_LATENCY_MS} ms model`,
    rootType: 'EXPRESS',
    template: () => icsTemplate({ ingestion: Ingestion.queued() }),
    run: single,
    modelLatencyMs: MODEL_LATENCY_MS,
    notes: `the first row with an endpoint that takes ${MODEL_LATENCY_MS} ms per image: the classify function waits for it, and the `
      + 'dispatch function for the whole execution, so both bill their memory for that time',
  },
  {
    id: 'reference-model-latency',
    design: 'reference',
    label: `Reference, ${MODEL_LATENCY_MS} ms model`,
    rootType: 'STANDARD',
    template: referenceTemplate,
    run: single,
    modelLatencyMs: MODEL_LATENCY_MS,
    notes: `the reference with the same ${MODEL_LATENCY_MS} ms endpoint: its classify function waits for it`,
  },
  {
    id: 'reference-single-standard',
    design: 'reference',
    label: 'Reference, one execution per upload, Standard',
    rootType: 'STANDARD',
    template: referenceTemplate,
    run: single,
    notes: 'the reference has no bulk mode: a batch is one Standard execution per image, so its bulk cost per image is this row',
  },
];

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The workload's images (distinct bytes; the model answers FLAGGED for the first `flagged`). */
export function workloadImages(prefix: string, latencyMs = 0) {
  const images = Array.from({ length: WORKLOAD.images }, (_, i) => ({ key: `${prefix}${String(i).padStart(2, '0')}.png`, bytes: pngOfSize(WORKLOAD.bytes, 100 + i).bytes }));
  const flagged = new Set(images.slice(0, WORKLOAD.flagged).map((i) => sha(i.bytes)));
  const model = functionModel(async (bytes) => {
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    return flagged.has(sha(bytes)) ? SCORES.flagged : SCORES.accepted;
  });
  return { images, model };
}

const chunks = (bytes: number, size: number) => Math.max(1, Math.ceil(bytes / size));
const memGb = (f: BilledFunction | undefined) => (f?.memoryMb ?? 128) / 1024;

/** What the handlers wrote to their log streams during one run. */
interface HandlerLogs {
  readonly bytes: number;
  readonly lines: number;
}

/**
 * Lambda's own lines per invocation. In the Text log format (a template without LoggingConfig) the Node.js runtime
 * writes — https://docs.aws.amazon.com/lambda/latest/dg/nodejs-logging.html: `START RequestId: <id> Version: $LATEST`,
 * `END RequestId: <id>`, `REPORT RequestId: <id>\tDuration: <ms> ms\tBilled Duration: <ms> ms\tMemory Size: <MB> MB\tMax Memory
 * Used: <MB> MB\t`, which under active tracing carries `XRAY TraceId: ...\tSegmentId: ...\tSampled: true\t` too. Rendered
 * from the measured duration and the configured memory (Max Memory Used written at its widest, the memory size). In the
 * JSON format they are `platform.start` and `platform.report` records at level INFO, which a system log level of WARN
 * drops (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html).
 */
export function lambdaPlatformLines(ms: number, f: BilledFunction | undefined): string[] {
  const id = randomUUID();
  const mem = f?.memoryMb ?? 128;
  if (f?.logging.format === 'JSON') {
    if (f.logging.systemLogLevel === 'WARN') return [];
    const time = new Date().toISOString();
    const tracing = f.tracing ? { tracing: { spanId: '0'.repeat(16), type: 'X-Amzn-Trace-Id', value: `Root=1-${'0'.repeat(8)}-${'0'.repeat(24)};Parent=${'0'.repeat(16)};Sampled=1` } } : {};
    return [
      JSON.stringify({ time, type: 'platform.start', record: { requestId: id, version: '$LATEST', ...tracing } }),
      JSON.stringify({
        time,
        type: 'platform.report',
        record: {
          requestId: id,
          metrics: { durationMs: Number(ms.toFixed(3)), billedDurationMs: Math.ceil(ms), memorySizeMB: mem, maxMemoryUsedMB: mem },
          ...tracing,
          status: 'success',
        },
      }),
    ];
  }
  const xray = f?.tracing ? `\nXRAY TraceId: 1-${'0'.repeat(8)}-${'0'.repeat(24)}\tSegmentId: ${'0'.repeat(16)}\tSampled: true\t` : '';
  return [
    `START RequestId: ${id} Version: $LATEST`,
    `END RequestId: ${id}`,
    `REPORT RequestId: ${id}\tDuration: ${ms.toFixed(2)} ms\tBilled Duration: ${Math.ceil(ms)} ms\tMemory Size: ${mem} MB\tMax Memory Used: ${mem} MB\t${xray}`,
  ];
}

/** The resources of every Task state, nested ones included. */
function taskResources(definition: any): string[] {
  return Object.values<any>(definition?.States ?? {}).flatMap((s) => [
    ...(s.Type === 'Task' ? [String(s.Resource)] : []),
    ...taskResources(s.ItemProcessor ?? s.Iterator),
    ...(s.Branches ?? []).flatMap(taskResources),
  ]);
}

const FIREHOSE_PUT_RECORD = 'arn:aws:states:::aws-sdk:firehose:putRecord';
const SECONDS_PER_30_DAYS = 30 * 86_400;

/**
 * Objects a delivery stream writes per record at a steady 1M records per 30 days: one per buffering interval, or per
 * buffer-size worth of records when that comes first (never more than one per record).
 */
function firehoseObjectsPerRecord(template: CfnTemplate, recordBytes: number): number {
  const stream = Object.values(template.Resources).find((r) => r.Type === 'AWS::KinesisFirehose::DeliveryStream');
  const hints = stream?.Properties?.ExtendedS3DestinationConfiguration?.BufferingHints ?? {};
  const interval = hints.IntervalInSeconds ?? 300;
  const size = (hints.SizeInMBs ?? 5) * 1024 * 1024;
  const records = 1e6;
  const objects = Math.min(records, Math.max(Math.ceil((records * (recordBytes + 1)) / size), Math.ceil(SECONDS_PER_30_DAYS / interval)));
  return objects / records;
}

/** The logging configuration of the machine a scenario starts: the bulk machine for bulk paths, else the per-image one. */
function scenarioLogging(template: CfnTemplate, bulk: boolean): StepFunctionsLogging {
  const machines = Object.keys(template.Resources).filter((id) => template.Resources[id].Type === 'AWS::StepFunctions::StateMachine');
  const id = machines.find((m) => m.includes('Bulk') === bulk) ?? machines[0];
  return loggingConfigurationOf(template, id);
}

function countWork(
  scenario: Scenario, local: LocalPipeline, template: CfnTemplate, runs: LocalExecution[], calls: LambdaCall[],
  functions: Record<string, BilledFunction>, handlerLogs: HandlerLogs, queued?: QueuedCounts,
): { work: WorkPerImage; usd: CostBreakdown } {
  const n = WORKLOAD.images;
  const executions = probe.executions;
  const billedAs = (child: boolean) => (child ? scenario.childType ?? scenario.rootType : scenario.rootType);
  const standard = executions.filter((e) => billedAs(e.child) === 'STANDARD');
  const express = executions.filter((e) => billedAs(e.child) === 'EXPRESS');
  const standardTransitions = standard.reduce((s, e) => s + e.transitions + e.retries, 0);
  const expressChunkGb = PRICES.stepFunctions.expressMemoryChunkMb / 1024;
  const inc = PRICES.stepFunctions.expressBillingIncrementMs;
  const expressGbSeconds = express.reduce((s, e) => s + (Math.ceil(e.durationMs / inc) * inc / 1000) * expressChunkGb, 0);
  const lambdaGbSeconds = calls.reduce((s, c) => s + (Math.ceil(c.ms) / 1000) * memGb(functions[c.fn]), 0);
  const lambdaUsd = calls.reduce((s, c) => {
    const f = functions[c.fn];
    return s + PRICES.lambda.perRequest + (Math.ceil(c.ms) / 1000) * memGb(f) * (PRICES.lambda.perGbSecond[f?.architecture ?? 'x86_64']);
  }, 0);
  const byFunction: Record<string, { invocations: number; gbSeconds: number }> = {};
  for (const c of calls) {
    const entry = (byFunction[c.fn] ??= { invocations: 0, gbSeconds: 0 });
    entry.invocations++;
    entry.gbSeconds += (Math.ceil(c.ms) / 1000) * memGb(functions[c.fn]);
  }

  // Queued ingestion: SQS requests (metered on the queue object), the dispatch function's DynamoDB and Step Functions requests.
  const sqsRequests: Record<string, number> = { ...queued?.sqs.counts ?? {} };
  const sqsUsd = Object.values(sqsRequests).reduce((a, b) => a + b, 0) * PRICES.sqs.perRequest;
  const dynamoHost = local.queued ? hostOf(local.queued.dynamodb.url) : undefined;
  const dynamoDbRequests: Record<string, number> = {};
  for (const r of probe.requests.filter((q) => q.host === dynamoHost)) {
    const op = (r.target ?? 'unknown').split('.').pop()!;
    dynamoDbRequests[op] = (dynamoDbRequests[op] ?? 0) + 1;
  }
  const writes = ['PutItem', 'UpdateItem', 'DeleteItem'].reduce((a, op) => a + (dynamoDbRequests[op] ?? 0), 0);
  // Every write of the record (a failed conditional PutItem too) is one WRU per started KB; GetItem is strongly consistent.
  const dynamoDbWriteUnits = writes * chunks(queued?.itemBytes ?? 0, PRICES.dynamoDb.writeUnitBytes);
  const dynamoDbReadUnits = (dynamoDbRequests.GetItem ?? 0) * chunks(queued?.itemBytes ?? 0, PRICES.dynamoDb.readUnitBytes);
  const dynamoUsd = dynamoDbWriteUnits * PRICES.dynamoDb.perWriteRequestUnit + dynamoDbReadUnits * PRICES.dynamoDb.perReadRequestUnit;
  const sfnHost = local.queued ? hostOf(local.queued.stepFunctions.url) : undefined;
  const startSyncExecutions = probe.requests.filter((q) => q.host === sfnHost && q.target === 'AWSStepFunctions.StartSyncExecution').length;

  const s3Host = hostOf(local.s3.url);
  const s3Requests: Record<string, number> = {};
  let s3Usd = 0;
  for (const r of probe.requests.filter((q) => q.host === s3Host)) {
    const op = s3Operation(r);
    s3Requests[op] = (s3Requests[op] ?? 0) + 1;
    const cls = s3RequestClass(r);
    s3Usd += cls === 'put' ? PRICES.s3.putCopyPostList : cls === 'get' ? PRICES.s3.getAndOther : 0;
  }
  const endpointInvocations = probe.requests.filter((q) => q.host === hostOf(local.sagemaker.url)).length;
  const alerts = runs.flatMap((r) => r.alerts);
  const snsUnits = alerts.reduce((s, a) => s + chunks(Buffer.byteLength(a.message), PRICES.sns.chunkBytes), 0);
  const events = runs.flatMap((r) => r.events);
  const ebUnits = events.reduce((s, e) => s + chunks(Buffer.byteLength(JSON.stringify(e)), PRICES.eventBridge.chunkBytes), 0);

  // CloudWatch Logs: the executions' records at the template's level (queued deliveries carry every attempt's), the
  // handlers' JSON lines and Lambda's own lines, each event + 26 bytes.
  const overhead = PRICES.cloudWatchLogs.eventOverheadBytes;
  const stateMachineLogBytes = runs.reduce((sum, r) => sum + r.logBytes, 0);
  const stateMachineLogEvents = runs.reduce((sum, r) => sum + r.logRecords.length, 0);
  const logging = scenarioLogging(template, scenario.id.includes('bulk'));
  const bytesAt = (level: 'ALL' | 'ERROR') => runs.reduce((sum, r) =>
    sum + cloudWatchLogBytes(renderLogRecords(r.history, { level, includeExecutionData: logging.includeExecutionData })), 0);
  const handlerLogBytesIngested = handlerLogs.bytes + handlerLogs.lines * overhead;
  const lambdaPlatformLogBytes = calls.reduce((sum, c) =>
    sum + lambdaPlatformLines(c.ms, functions[c.fn]).reduce((bytes, line) => bytes + Buffer.byteLength(line) + overhead, 0), 0);
  const logBytes = stateMachineLogBytes + handlerLogBytesIngested + lambdaPlatformLogBytes;

  // Firehose: one record per audited image when the workflow puts records into the delivery stream.
  const firehose = [local.definition, local.bulkDefinition].some((d) => d && taskResources(d).includes(FIREHOSE_PUT_RECORD));
  const records = firehose ? runs.flatMap((r) => r.auditRecords.map((a) => Buffer.byteLength(JSON.stringify(a.record)))) : [];
  const step = PRICES.firehose.recordStepBytes;
  const firehoseBilledBytes = records.reduce((sum, b) => sum + chunks(b, step) * step, 0);
  const meanRecordBytes = records.length > 0 ? records.reduce((a, b) => a + b, 0) / records.length : 0;
  const firehoseObjects = records.length > 0 ? records.length * firehoseObjectsPerRecord(template, meanRecordBytes) : 0;

  const usd = {
    cloudWatchLogs: (logBytes / 1e9) * PRICES.cloudWatchLogs.perGb,
    firehose: (firehoseBilledBytes / 1e9) * PRICES.firehose.perGb + firehoseObjects * PRICES.s3.putCopyPostList,
    stepFunctions: standardTransitions * PRICES.stepFunctions.standardPerTransition
      + express.length * PRICES.stepFunctions.expressPerRequest + expressGbSeconds * PRICES.stepFunctions.expressPerGbSecond,
    lambda: lambdaUsd,
    sns: snsUnits * PRICES.sns.perPublish,
    eventBridge: ebUnits * PRICES.eventBridge.perCustomEvent,
    s3: s3Usd,
    sqs: sqsUsd,
    dynamoDb: dynamoUsd,
  };
  const perMillion = (v: number) => round((v / n) * 1e6, 2);
  const breakdown: CostBreakdown = {
    stepFunctions: perMillion(usd.stepFunctions),
    lambda: perMillion(usd.lambda),
    sns: perMillion(usd.sns),
    eventBridge: perMillion(usd.eventBridge),
    s3: perMillion(usd.s3),
    sqs: perMillion(usd.sqs),
    dynamoDb: perMillion(usd.dynamoDb),
    cloudWatchLogs: perMillion(usd.cloudWatchLogs),
    firehose: perMillion(usd.firehose),
    total: perMillion(Object.values(usd).reduce((a, b) => a + b, 0)),
    perRequest: perMillion(standardTransitions * PRICES.stepFunctions.standardPerTransition
      + express.length * PRICES.stepFunctions.expressPerRequest + calls.length * PRICES.lambda.perRequest
      + usd.sns + usd.eventBridge + usd.s3 + usd.sqs + usd.dynamoDb),
  };
  const per = (v: number, d = 3) => round(v / n, d);
  return {
    work: {
      standardTransitions: per(standardTransitions, 2),
      expressRequests: per(express.length, 3),
      expressGbSeconds: per(expressGbSeconds, 5),
      lambdaInvocations: per(calls.length, 2),
      lambdaGbSeconds: per(lambdaGbSeconds, 5),
      lambdaByFunction: Object.fromEntries(Object.entries(byFunction).sort()
        .map(([fn, v]) => [fn, { invocations: per(v.invocations, 2), gbSeconds: per(v.gbSeconds, 5) }])),
      snsPublishes: per(alerts.length, 3),
      eventBridgeEvents: per(events.length, 3),
      s3Requests: Object.fromEntries(Object.entries(s3Requests).sort().map(([k, v]) => [k, per(v, 3)])),
      sqsRequests: Object.fromEntries(Object.entries(sqsRequests).filter(([, v]) => v > 0).map(([k, v]) => [k, per(v, 3)])),
      dynamoDbRequests: Object.fromEntries(Object.entries(dynamoDbRequests).sort().map(([k, v]) => [k, per(v, 3)])),
      dynamoDbWriteUnits: per(dynamoDbWriteUnits, 3),
      dynamoDbReadUnits: per(dynamoDbReadUnits, 3),
      startSyncExecutions: per(startSyncExecutions, 3),
      endpointInvocations: per(endpointInvocations, 2),
      stateDataBytes: per(executions.reduce((sum, e) => sum + e.dataBytes, 0), 0),
      stateMachineLogBytes: per(stateMachineLogBytes, 0),
      stateMachineLogEvents: per(stateMachineLogEvents, 2),
      stateMachineLogBytesAt: { ALL: per(bytesAt('ALL'), 0), ERROR: per(bytesAt('ERROR'), 0) },
      handlerLogBytes: per(handlerLogBytesIngested, 0),
      handlerLogEvents: per(handlerLogs.lines, 2),
      lambdaPlatformLogBytes: per(lambdaPlatformLogBytes, 0),
      logBytes: per(logBytes, 0),
      firehoseRecords: per(records.length, 3),
      firehoseRecordBytes: round(meanRecordBytes, 0),
      firehoseBilledBytes: per(firehoseBilledBytes, 0),
      firehoseObjects: per(firehoseObjects, 5),
    },
    usd: breakdown,
  };
}

/** Size of the largest idempotency record (DynamoDB item size: attribute names plus values, approximately). */
async function largestItemBytes(local: LocalPipeline): Promise<number> {
  const q = local.queued!;
  let largest = 0;
  for (const table of q.topology.tables) {
    for (const item of await q.dynamodb.scan(table.id)) {
      const bytes = Object.entries(item).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(typeof v === 'string' ? v : JSON.stringify(v)), 0);
      largest = Math.max(largest, bytes);
    }
  }
  return largest;
}

/** A scenario's run takes seconds; a queued one whose executions cannot start would retry forever. */
const RUN_TIMEOUT_MS = 180_000;

async function withinTime<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_r, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs every scenario `reps` times on a fresh local pipeline each and returns work and cost per image. */
export async function measureCost(reps: number, log: (line: string) => void, only?: string[]): Promise<CostScenarioResult[]> {
  // On Lambda the functions log at their application log level (Lambda sets AWS_LAMBDA_LOG_LEVEL from the template's
  // LoggingConfig, and Powertools follows it; without one Powertools logs at its default, INFO), and write their EMF
  // metric lines. The runner would quiet both (ERROR, metrics off); here they are CloudWatch Logs ingestion, counted.
  // The level is set per scenario below.
  const saved = { POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL, POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED };
  process.env.POWERTOOLS_LOG_LEVEL = saved.POWERTOOLS_LOG_LEVEL ?? 'INFO';
  process.env.POWERTOOLS_METRICS_DISABLED = saved.POWERTOOLS_METRICS_DISABLED ?? 'false';
  try {
    return await measureScenarios(reps, log, only);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

async function measureScenarios(reps: number, log: (line: string) => void, only?: string[]): Promise<CostScenarioResult[]> {
  const results: CostScenarioResult[] = [];
  for (const scenario of SCENARIOS.filter((s) => !only || only.includes(s.id))) {
    const template = scenario.template();
    const functions = billedFunctions(scenario.design, template);
    process.env.POWERTOOLS_LOG_LEVEL = Object.values(functions).find((f) => f.logging.applicationLogLevel)?.logging.applicationLogLevel ?? 'INFO';
    const samples: Array<{ work: WorkPerImage; usd: CostBreakdown }> = [];
    for (let rep = 0; rep < reps; rep++) {
      const { images, model } = workloadImages(scenario.id.includes('bulk') ? 'batch/' : 'uploads/', scenario.modelLatencyMs);
      const local = await startDesign(scenario.design, template, { vehicles: model });
      try {
        // Warm the handlers first (one image, not counted): the cost figure is the steady state; cold starts are figure 3.
        await local.upload('warmup/w.png', pngOfSize(WORKLOAD.bytes, 99).bytes);
        const q = local.queued;
        probe.recordHosts(q ? [q.sqs.url, q.stepFunctions.url, q.dynamodb.url].map(hostOf) : []);
        const sqs = q ? meterQueue(q.queue) : undefined;
        probe.reset();
        takeLambdaCalls();
        handlerLogBytes();
        handlerLogLines();
        let runs: LocalExecution[];
        try {
          runs = await withinTime(scenario.run(local, images), RUN_TIMEOUT_MS, `${scenario.id}: the run did not end within `
            + `${RUN_TIMEOUT_MS / 1000} s (queued ingestion retries an execution that cannot start, e.g. a definition the runner rejects)`);
        } finally {
          sqs?.stop();
          probe.recordHosts([]);
        }
        const handlerLogs = { bytes: handlerLogBytes(), lines: handlerLogLines() };
        const calls = takeLambdaCalls();
        const failed = runs.filter((r) => r.status !== 'SUCCEEDED');
        if (failed.length > 0) throw new Error(`${scenario.id}: ${failed.length} executions failed: ${failed[0].error} ${failed[0].cause}`);
        const queued = q && sqs ? { sqs, itemBytes: await largestItemBytes(local) } : undefined;
        samples.push(countWork(scenario, local, template, runs, calls, functions, handlerLogs, queued));
      } finally {
        await local.close();
      }
    }
    const totals = samples.map((s) => s.usd.total);
    const mid = samples[totals.indexOf([...totals].sort((a, b) => a - b)[Math.floor(totals.length / 2)])];
    results.push({
      id: scenario.id,
      design: scenario.design,
      label: scenario.label,
      work: mid.work,
      usdPerMillion: mid.usd,
      stateMachineLogging: scenarioLogging(template, scenario.id.includes('bulk')),
      stateMachineLogsUsdPerMillionAt: {
        ALL: round(mid.work.stateMachineLogBytesAt.ALL * PRICES.cloudWatchLogs.perGb / 1e3, 2),
        ERROR: round(mid.work.stateMachineLogBytesAt.ERROR * PRICES.cloudWatchLogs.perGb / 1e3, 2),
      },
      usdPerMillionRuns: summarize(totals, 2),
      lambdaGbSecondsRuns: summarize(samples.map((s) => s.work.lambdaGbSeconds), 5),
      notes: scenario.notes,
      ...(scenario.modelLatencyMs ? { modelLatencyMs: scenario.modelLatencyMs } : {}),
    });
    log(`  ${scenario.id}: $${mid.usd.total} per 1M images all-in (${mid.work.standardTransitions} Standard transitions, `
      + `${mid.work.expressRequests} Express requests, ${mid.work.lambdaInvocations} Lambda invocations, ${mid.work.logBytes} log bytes per image)`);
  }
  return results;
}

/** What queued ingestion adds to the direct path, per 1 million images, from the two rows of the cost figure. */
export interface QueuedAddedCost {
  /** SQS requests, DynamoDB request units and the dispatch function (requests + GB-s at arm64), from the queued row. */
  readonly usdPerMillion: { readonly sqs: number; readonly dynamoDb: number; readonly dispatchFunction: number; readonly total: number };
  /** Queued total minus direct total (includes run-to-run noise in the shared parts' durations). */
  readonly totalDifferenceUsdPerMillion: number;
  /** Dispatch GB-s per image; it waits for the whole execution, so a model's latency L adds L × its memory to it. */
  readonly dispatchGbSecondsPerImage: number;
  /** The dispatch function's configured memory (MB). */
  readonly dispatchMemoryMb: number;
  /** USD per 1M images that each extra second of execution time adds to the dispatch function (arm64, its memory). */
  readonly dispatchUsdPerMillionPerExecutionSecond: number;
  /**
   * Long polls of an idle queue, charged whether or not images arrive: with MaximumConcurrency set, Lambda keeps five
   * pollers (no scale-down to two), each a ReceiveMessage with a 20-second wait.
   */
  readonly idlePolls: { readonly pollers: number; readonly waitSeconds: number; readonly requestsPer30Days: number; readonly usdPer30Days: number };
}

export function queuedAddedCost(cost: CostScenarioResult[], template = icsTemplate({ ingestion: Ingestion.queued() })): QueuedAddedCost | undefined {
  const queued = cost.find((c) => c.id === 'ics-single-express-queued');
  const direct = cost.find((c) => c.id === 'ics-single-express-direct');
  if (!queued || !direct) return undefined;
  const dispatch = billedFunctions('ICS', template).dispatch;
  const dispatchMemoryMb = dispatch?.memoryMb ?? 128;
  const gb = dispatchMemoryMb / 1024;
  const perGbSecond = PRICES.lambda.perGbSecond[dispatch?.architecture ?? 'arm64'];
  const d = queued.work.lambdaByFunction.dispatch ?? { invocations: 0, gbSeconds: 0 };
  const dispatchUsd = round((d.invocations * PRICES.lambda.perRequest + d.gbSeconds * perGbSecond) * 1e6, 2);
  const pollers = 5;
  const waitSeconds = 20;
  const requestsPer30Days = pollers * (30 * 86_400 / waitSeconds);
  return {
    usdPerMillion: {
      sqs: queued.usdPerMillion.sqs,
      dynamoDb: queued.usdPerMillion.dynamoDb,
      dispatchFunction: dispatchUsd,
      total: round(queued.usdPerMillion.sqs + queued.usdPerMillion.dynamoDb + dispatchUsd, 2),
    },
    totalDifferenceUsdPerMillion: round(queued.usdPerMillion.total - direct.usdPerMillion.total, 2),
    dispatchGbSecondsPerImage: d.gbSeconds,
    dispatchMemoryMb,
    dispatchUsdPerMillionPerExecutionSecond: round(gb * perGbSecond * 1e6, 2),
    idlePolls: { pollers, waitSeconds, requestsPer30Days, usdPer30Days: round(requestsPer30Days * PRICES.sqs.perRequest, 2) },
  };
}
