import './polyfills';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { gunzipSync } from 'node:zlib';
import { DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { FirehoseClient, PutRecordCommand } from '@aws-sdk/client-firehose';
import * as Rekognition from '@aws-sdk/client-rekognition';
import * as S3 from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DispatchEnv } from 'cdk-image-classification-pipeline/lib/handlers/dispatch';
import { STEP_TASK_STATE } from 'cdk-image-classification-pipeline/lib/workflow/step-states';
import { ScaledClock } from './clock';
import { runDistributedMap } from './distributed-map';
import { matchesEventPattern, applyInputTransformer, objectCreatedEvent } from './event-pattern';
import { cloudWatchLogBytes, executionHistory, ExecutionHistoryEvent, InterpreterEvent, loggingConfigurationOf, recordTaskAttempts, renderLogRecords, roleArnOf, StepFunctionsLogRecord } from './execution-log';
import { Denial, Gateway } from './gateway/gateway';
import { Call, invokeFunctionCall, putEventsCall, startExecutionCall } from './iam/calls';
import { CallPrincipal, PolicyDocument } from './iam/model';
import { eventSourceMappingCalls, ruleTargetCalls } from './iam/plan';
import { ExternalPolicies, TemplatePolicies } from './iam/template-policies';
import {
  blobParameterText, integrationError, optimizedIntegrationErrorName, s3BodyParameterText, sdkErrorNameOf, sdkIntegrationErrorName,
  sdkIntegrationServiceName, sdkModelledErrors,
} from './integration-errors';
import { applyHashes, compatDefinition, HASH_PASS_RESOURCE, stringifyDeferred } from './interpreter-compat';
import { evaluateOutput, JSONATA_PASS_RESOURCE, rewriteJsonataPassStates, unsupportedJsonata } from './jsonata-states';
import { ModelBackend } from './models/model-backend';
import { enforcePayloadLimit } from './payload-limit';
import { DynamoDBPeer, startDynamoDB, tablesFromTemplate } from './peers/dynamodb';
import { deliveryStreamsFromTemplate, FirehosePeer, LocalDeliveryStream, startFirehose } from './peers/firehose';
import { RekognitionModel, RekognitionPeer, startRekognition } from './peers/rekognition';
import { S3ObjectCreated, S3Peer, startS3 } from './peers/s3';
import { EndpointCapacity, SageMakerRuntimePeer, startSageMakerRuntime } from './peers/sagemaker-runtime';
import { SnsPublished, SnsSink, startSnsSink } from './peers/sns';
import { ExecutionRequest, ExecutionResult } from './peers/stepfunctions';
import { LocalQueuedIngestion, queuedTopology, QueuedTopology } from './queued-ingestion';
import { scaledTimeout, scaleDefinitionTime } from './scaled-time';
import { CfnTemplate, LOCAL_ACCOUNT, physicalName, resolveIntrinsics, stateMachineDefinition } from './template-resolver';

/**
 * aws-local-stepfunctions ships ESM type declarations under `"type": "module"`, which a CommonJS (jsii) module
 * cannot import; its CommonJS build is loaded with require and typed here by what the runner uses.
 */
interface LocalStateMachine {
  run(input: unknown, options: unknown): { result: Promise<unknown>; eventLogs: AsyncIterable<{ type: string; state?: { name: string } }> };
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { StateMachine } = require('aws-local-stepfunctions') as {
  StateMachine: new (definition: unknown, options: unknown) => LocalStateMachine;
};

/** The library's bundled handlers (the same code the template deploys), from the installed copy of the library. */
/** The user agent of the runner's own reads (see `observerClient`); request meters can leave them out. */
export const OBSERVER_USER_AGENT = 'ics-local-observer';

export const HANDLERS_DIR = path.join(path.dirname(require.resolve('cdk-image-classification-pipeline/package.json')), 'assets', 'handlers');

export interface LocalPipelineOptions {
  /**
   * The synthesized template of the stack that holds the pipeline: `Template.fromStack(stack).toJSON()`, or a
   * `cdk.out/<Stack>.template.json` read as JSON.
   */
  readonly template: CfnTemplate | { readonly [key: string]: any };
  /**
   * Logical ID prefix of the pipeline's resources (its construct path without separators, e.g. `Ics`),
   * needed only when the stack holds more than one pipeline.
   * @default - the only state machine with a classify function
   */
  readonly pipelineId?: string;
  /** Model behind each endpoint name the pipeline invokes (none for a Rekognition classifier). */
  readonly models: Record<string, ModelBackend>;
  /**
   * Local models behind the Rekognition peer, for pipelines with a Rekognition classifier.
   * @default - Rekognition requests fail AccessDeniedException
   */
  readonly rekognition?: {
    readonly detectLabels?: RekognitionModel;
    readonly detectModerationLabels?: RekognitionModel;
  };
  /**
   * Wait before each retry, in ms, instead of the definition's backoff (which is seconds, with jitter). Ignored
   * when `timeScale` is set.
   * @default 0
   */
  readonly retryDelayMs?: number;
  /**
   * Run AWS's timings in scaled time: real ms per simulated ms (0.001 turns 30 s into 30 ms). Retry intervals with
   * their backoff and jitter, Express's 5-minute limit, Lambda timeouts, visibility timeouts and the dispatch
   * function's backoff all honour it, so bursts and outages run in seconds.
   * @default - real time for the queue and timeouts; retries wait `retryDelayMs`
   */
  readonly timeScale?: number;
  /**
   * What each SageMaker endpoint serves at once (`{ concurrency, latencyMs }`): requests beyond `concurrency` in
   * flight are answered ThrottlingException (400), as SageMaker does; `latencyMs` is simulated time.
   * @default - unlimited
   */
  readonly capacity?: Record<string, EndpointCapacity>;
  /** Directory of the bundled handlers (`<name>.lambda/index.js`). @default HANDLERS_DIR */
  readonly handlersDir?: string;
  /**
   * The cloud assembly the template was synthesized into (`app.outdir` after `Template.fromStack`, `app.synth().directory`,
   * or `cdk.out`): the runner runs your workflow steps' functions (`Code.fromAsset`, a bundled `NodejsFunction`) from
   * their assets there. Node.js functions with inline code (`Code.fromInline`) need none.
   * @default - only the library's functions and inline code can run
   */
  readonly assemblyDir?: string;
  /**
   * Logical IDs of further functions to run from `handlersDir` as bundled handlers (`<name>.lambda/index.js`, named by
   * `Classify`, `Summarize` or `Dispatch` in the ID), like the library's own: for a design other than this library's
   * that is run through the runner with bundles of its own (the benchmark's reference design).
   * @default - only the library's own functions (their description ends with `(cdk-image-classification-pipeline)`)
   */
  readonly bundledFunctions?: string[];
  /** Further buckets to create in the S3 peer (e.g. an imported quarantine or audit bucket). */
  readonly extraBuckets?: string[];
  /**
   * The Firehose peer writes an object once a delivery stream's buffer holds this many records (a local knob: AWS
   * delivers on the stream's buffering size or interval only, which the peer honours too).
   * @default - no record limit: objects are written on the buffering size or interval, {@link LocalPipeline.flushAuditTrail} or close
   */
  readonly firehoseMaxRecordsPerObject?: number;
  /**
   * Receives every EMF line the functions write (they go to stdout on Lambda, where CloudWatch turns them into
   * metrics), with the simulated time; when set, the functions' metrics are on and their lines are not printed.
   * @default - metrics off (POWERTOOLS_METRICS_DISABLED=true unless set in the environment)
   */
  readonly metricsSink?: (line: string, timestampMs: number) => void;
  /**
   * S3 sends "Object Created" events for every object written to the peer (a presigned PUT from a browser, a copy
   * back from quarantine), as a bucket with EventBridge notifications does, and each one that matches the upload rule
   * runs (see {@link LocalPipeline.whenProcessed}). Without it, only `upload()` and `putEvent()` start executions.
   * @default false
   */
  readonly s3EventNotifications?: boolean;
  /**
   * How the kit authorizes calls. Every call carries the identity AWS would see (each function's role, the state
   * machine's role, `events.amazonaws.com`, the delivery stream's role) and passes the template's policies before a
   * peer acts; a denied call fails with the service's error, as on AWS, and is listed in {@link LocalPipeline.denials}.
   * @default enforced, with the template's policies only
   */
  readonly iam?: LocalIamOptions;
}

/** The kit's IAM enforcement (see {@link LocalPipelineOptions.iam}). */
export interface LocalIamOptions {
  /**
   * Refuse denied calls. Off, denials are only listed: for a test that studies something else of a template whose
   * policies you know to be incomplete (say why where you turn it off).
   * @default true
   */
  readonly enforce?: boolean;
  /** A permissions boundary on every role of the template. @default the roles' own */
  readonly boundary?: PolicyDocument;
  /** Service control policies of the account. @default none */
  readonly scps?: PolicyDocument[];
  /** Policies and encryption of resources you bring (buckets, keys, topics). @default AWS's defaults, said once per run */
  readonly external?: ExternalPolicies;
}

/** One execution of the pipeline's state machine. */
export interface LocalExecution {
  readonly executionArn: string;
  /**
   * SUCCEEDED, FAILED or TIMED_OUT, as Step Functions reports; NOT_TRIGGERED when the upload rule did not match.
   * Queued ingestion: DEDUPLICATED when the dispatch function found the upload done already (no execution, no
   * effect), DEAD_LETTERED when the message failed every receive without a final execution.
   */
  readonly status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'NOT_TRIGGERED' | 'DEDUPLICATED' | 'DEAD_LETTERED';
  /** The state machine's input. */
  readonly input?: unknown;
  /** The output of a SUCCEEDED execution (the classification result). */
  readonly output?: any;
  /** Error and cause of a FAILED execution (e.g. `UnsupportedImageFormat`, `LowConfidence`). */
  readonly error?: string;
  readonly cause?: string;
  /** The classification result: the output, or the ERROR/LOW_CONFIDENCE result the execution alerted before failing. */
  readonly result?: any;
  /** Alerts published during the execution. */
  readonly alerts: SnsPublished[];
  /** Result events put on EventBridge during the execution. */
  readonly events: LocalEvent[];
  /** Objects written by s3:putObject during the execution (the audit record), bodies parsed as JSON. */
  readonly auditRecords: Array<{ bucket: string; key: string; record: any }>;
  /** The uploaded object's tags after the execution, when it still exists where it was uploaded. */
  readonly tags?: Record<string, string>;
  /** Names of the states entered, in order. */
  readonly states: string[];
  /** Invocations of the classify function (retries included). */
  readonly lambdaInvocations: number;
  /**
   * The records Step Functions would send to CloudWatch Logs for this execution at the state machine's
   * LoggingConfiguration in the template (none when OFF), Distributed Map children's included (local/src/execution-log.ts).
   */
  readonly logRecords: StepFunctionsLogRecord[];
  /** Bytes CloudWatch Logs would ingest for `logRecords`: the UTF-8 JSON of each plus 26 per event. */
  readonly logBytes: number;
  /** Every event of the execution's history in AWS's types, with its data: `renderLogRecords` renders any level from it. */
  readonly history: ExecutionHistoryEvent[];
  /** Calls the gateway denied while the execution ran (with concurrent executions, theirs too): principal, action, resource, why. */
  readonly denials?: Denial[];
  /**
   * Queued ingestion: the executions this delivery ran, in order (deferred attempts first, then the final one,
   * whose fields this record carries; alerts, events and audit records are those of all of them).
   */
  readonly attempts?: LocalExecution[];
}

interface FunctionInfo {
  readonly logicalId: string;
  readonly env: Record<string, string>;
  readonly timeoutMs: number;
  /** The function's resource in the template (runtime, handler, code). */
  readonly resource: { readonly Properties?: any; readonly Metadata?: any };
}

/** The library's own functions end their description with this; their bundles are in `handlersDir`. */
const LIBRARY_FUNCTION_DESCRIPTION = '(cdk-image-classification-pipeline)';

type TaskHandler = (input: any) => Promise<any>;

/** The runner's clients of the peers, for one principal. */
interface PrincipalClients {
  readonly s3: S3.S3Client;
  readonly sns: SNSClient;
  readonly rekognition: Rekognition.RekognitionClient;
  readonly firehose?: FirehoseClient;
  readonly dynamodb?: DynamoDBClient;
}
/** A bundled Lambda handler. */
type Handler = (event: unknown, context?: unknown) => Promise<unknown>;

/** Service integrations the runner executes, against the peers or in-process. */
const SUPPORTED_INTEGRATIONS = [
  'arn:aws:states:::sns:publish',
  'arn:aws:states:::lambda:invoke',
  'arn:aws:states:::events:putEvents',
  'arn:aws:states:::aws-sdk:s3:putObjectTagging',
  'arn:aws:states:::aws-sdk:s3:copyObject',
  'arn:aws:states:::aws-sdk:s3:deleteObject',
  'arn:aws:states:::aws-sdk:s3:putObject',
  'arn:aws:states:::aws-sdk:s3:getObjectTagging',
  // human review: the workflow opens a review item, and consumes a release marker
  'arn:aws:states:::dynamodb:putItem',
  'arn:aws:states:::dynamodb:getItem',
  'arn:aws:states:::dynamodb:updateItem',
  'arn:aws:states:::aws-sdk:firehose:putRecord',
  'arn:aws:states:::aws-sdk:rekognition:detectLabels',
  'arn:aws:states:::aws-sdk:rekognition:detectModerationLabels',
  // your Express state machine steps, run in this runner's interpreter
  'arn:aws:states:::aws-sdk:sfn:startSyncExecution',
];

/** An event the state machine put on EventBridge. */
export interface LocalEvent {
  readonly source: string;
  readonly detailType: string;
  readonly detail: any;
  readonly eventBusName?: string;
}

/** An object the state machine wrote with s3:putObject (audit records). */
export interface LocalObjectWrite {
  readonly bucket: string;
  readonly key: string;
  readonly body: string;
}

/**
 * Runs a synthesized pipeline on this machine: its real state machine definition in
 * aws-local-stepfunctions, its real bundled handler in-process, and S3, SageMaker Runtime and SNS peers
 * on loopback. Nothing is mocked above the protocol level.
 */
export class LocalPipeline {
  /** Starts the peers and loads the handler. */
  public static async start(options: LocalPipelineOptions): Promise<LocalPipeline> {
    const local = new LocalPipeline(options);
    await local.init();
    return local;
  }

  public s3!: S3Peer;
  public sagemaker!: SageMakerRuntimePeer;
  public sns!: SnsSink;
  public rekognition!: RekognitionPeer;
  /** The audit trail's delivery streams (Firehose), delivering into `s3`; undefined when the template has none. */
  public firehose?: FirehosePeer;
  /** Clients for the peers, created once: the task states of every execution share them. */
  private s3Client!: S3.S3Client;
  /**
   * What the runner itself reads to report on executions (tags after an execution, the delivered audit trail): not a
   * request of the pipeline's. Its user agent names it, so request meters can leave it out.
   */
  private observerClient!: S3.S3Client;
  /** Clients signed as each principal that calls the peers from the runner (a state machine's role). */
  private readonly principalClients = new Map<string, PrincipalClients>();
  /** Every event put on EventBridge, in order. */
  public readonly events: LocalEvent[] = [];
  /**
   * Event buses (by name or ARN) whose PutEvents entries fail, with the entry's `ErrorCode` (`InternalFailure` and
   * `ThrottlingException` are retryable, `AccessDeniedException` is not: EventBridge API Reference,
   * PutEventsResultEntry). A failed entry is not delivered, and the task fails `EventBridge.FailedEntry`.
   */
  public readonly failingEventBuses = new Map<string, string>();
  /** Every object written through s3:putObject, in order. */
  public readonly objectWrites: LocalObjectWrite[] = [];
  /** Every record put into a delivery stream through firehose:putRecord, in order, with the object it is delivered in. */
  public readonly firehoseRecords: LocalObjectWrite[] = [];
  /** Name of the bucket uploads go to. */
  public readonly bucketName: string;
  /** The per-image definition (intrinsics resolved). */
  public readonly definition: any;
  /** The bulk definition, when the pipeline has a bulk mode. */
  public readonly bulkDefinition?: any;

  private readonly template: CfnTemplate;
  private readonly stateMachineId: string;
  private readonly deliveryStreams: LocalDeliveryStream[];
  private readonly bulkStateMachineId?: string;
  private readonly functions = new Map<string, FunctionInfo>();
  /** State machines of the template by ARN (your Express steps' machines among them), definitions parsed on first use. */
  private readonly stateMachines = new Map<string, { logicalId: string; type: string; definition?: any }>();
  /** The upload rule's targets, each with the calls EventBridge (and, queued, the event source mapping) make to deliver. */
  private readonly rules: Array<{ pattern: any; transformer?: any; queued?: boolean; delivery: () => Call[] }> = [];
  private readonly topology?: QueuedTopology;
  /** The queued path's peers (ingest queue, Step Functions, DynamoDB); undefined with direct ingestion. */
  public queued?: LocalQueuedIngestion;
  /** DynamoDB with every table of the template (idempotency, review); undefined when it has none. */
  public dynamodb?: DynamoDBPeer;
  /** Set when this runner started `dynamodb` itself (direct ingestion); the queued path owns its own. */
  private ownDynamoDB = false;
  private dynamodbClient?: DynamoDBClient;
  /** Simulated time of every timer, retry and timeout. */
  public readonly clock: ScaledClock;
  /** Every per-image and bulk execution, in the order they ended. */
  public readonly executions: LocalExecution[] = [];
  /** Execution environments created per function logical ID (cold starts): one per concurrent invocation at most. */
  public readonly coldStarts: Record<string, number> = {};
  /** Idle execution environments per function: Lambda runs each concurrent invocation in its own. */
  private readonly idleHandlers = new Map<string, Handler[]>();
  /** Environment every function gets on top of its own: the peers' endpoints and credentials. */
  private peerEnv: Record<string, string> = {};
  private invocations = 0;
  /** With `s3EventNotifications`: the processing of the latest creation of each `bucket/key`. */
  private readonly notifications = new Map<string, Promise<LocalExecution>>();
  /** Environment set on top of a function's own, per logical ID (the local console points its function at its peers). */
  private readonly envOverrides = new Map<string, Record<string, string>>();
  /** Definitions validated already (validation costs more than an execution). */
  private readonly validated = new Set<unknown>();
  /** Identifies and authorizes every call (see {@link LocalIamOptions}). */
  public readonly gateway: Gateway;

  private constructor(private readonly options: LocalPipelineOptions) {
    if (typeof options.template?.Resources !== 'object' || options.template.Resources === null) {
      throw new Error('LocalPipeline: template has no Resources; pass Template.fromStack(stack).toJSON() of the stack that holds the pipeline');
    }
    this.template = options.template as CfnTemplate;
    const iam = options.iam ?? {};
    this.gateway = new Gateway({
      policies: new TemplatePolicies(this.template, { account: LOCAL_ACCOUNT, boundary: iam.boundary, scps: iam.scps, external: iam.external }),
      enforce: iam.enforce,
    });
    this.stateMachineId = this.findStateMachine('StateMachine')!;
    this.definition = stateMachineDefinition(this.template, this.stateMachineId);
    this.refuseUnfaithful(this.definition);
    // Refused here, before any peer starts, when the Firehose peer would not deliver as AWS does.
    this.deliveryStreams = deliveryStreamsFromTemplate(this.template);
    this.bulkStateMachineId = this.findStateMachine('BulkStateMachine', true);
    if (this.bulkStateMachineId) {
      this.bulkDefinition = stateMachineDefinition(this.template, this.bulkStateMachineId);
      this.refuseUnfaithful(this.bulkDefinition);
    }
    for (const [id, r] of Object.entries(this.template.Resources)) {
      if (r.Type === 'AWS::Events::Rule') {
        const pattern = () => resolveIntrinsics(r.Properties.EventPattern, this.template);
        const target = (r.Properties.Targets ?? []).find((t: any) => t.Arn?.Ref === this.stateMachineId);
        if (target) this.rules.push({ pattern: pattern(), transformer: target.InputTransformer, delivery: () => this.deliveryCalls(id, target) });
        for (const t of r.Properties.Targets ?? []) {
          const topology = queuedTopology(this.template, t);
          if (!topology || this.topology) continue;
          this.topology = topology;
          const delivery = () => this.deliveryCalls(id, t, topology.functionId);
          this.rules.push({ pattern: pattern(), transformer: t.InputTransformer, queued: true, delivery });
        }
      }
      if (r.Type === 'AWS::Lambda::Function') {
        this.functions.set(id, {
          logicalId: id,
          env: resolveIntrinsics(r.Properties.Environment?.Variables ?? {}, this.template),
          timeoutMs: (r.Properties.Timeout ?? 3) * 1000,
          resource: r,
        });
      }
      if (r.Type === 'AWS::StepFunctions::StateMachine') {
        this.stateMachines.set(resolveIntrinsics({ Ref: id }, this.template), { logicalId: id, type: r.Properties?.StateMachineType ?? 'STANDARD' });
      }
    }
    // Your workflow steps: refused here, naming the step, when their function or state machine cannot run locally.
    this.refuseUnrunnableSteps(this.definition);
    if (this.bulkDefinition) this.refuseUnrunnableSteps(this.bulkDefinition);
    this.clock = new ScaledClock(options.timeScale ?? 1);
    const bucketNames = this.rules.flatMap((rule) => rule.pattern?.detail?.bucket?.name ?? []);
    if (bucketNames.length === 0) throw new Error('The pipeline has no upload rule naming a bucket');
    this.bucketName = bucketNames[0];
  }

  /**
   * Gives the console's local origin the CORS rule the template gives its API endpoint on the pipeline's bucket (the
   * browser PUTs uploads there). Buckets without a CORS rule in the template (a bucket you bring) are left alone.
   */
  public async allowOrigin(origin: string): Promise<void> {
    for (const [id, r] of Object.entries(this.template.Resources)) {
      const rules: any[] | undefined = r.Type === 'AWS::S3::Bucket' ? r.Properties?.CorsConfiguration?.CorsRules : undefined;
      if (!rules) continue;
      await this.s3Client.send(new S3.PutBucketCorsCommand({
        Bucket: physicalName(id, 'AWS::S3::Bucket'),
        CORSConfiguration: {
          CORSRules: rules.map((rule) => ({
            AllowedMethods: rule.AllowedMethods,
            AllowedHeaders: rule.AllowedHeaders,
            ExposeHeaders: rule.ExposedHeaders,
            MaxAgeSeconds: rule.MaxAge,
            // The template's origin is the API's endpoint (a token resolved at deployment): here, the local console's.
            AllowedOrigins: [origin],
          })),
        },
      }));
    }
  }

  /** Logical IDs of the template's functions whose ID contains `part` (e.g. `ConsoleApiFunction`). */
  public functionIds(part: string): string[] {
    return [...this.functions.keys()].filter((id) => id.includes(part));
  }

  /**
   * The environment the runner gives one of the template's functions: its template variables, resolved, and the peers'
   * endpoints. With it a bundle can run in another process against this runner's peers (the bench measures a handler's
   * memory that way).
   */
  public functionEnvironment(logicalId: string): Record<string, string> {
    const fn = this.functions.get(logicalId);
    if (!fn) throw new Error(`No function ${logicalId} in the template`);
    return { ...this.peerEnv, ...this.roleEnvironment(fn), ...fn.env, ...this.envOverrides.get(logicalId) };
  }

  /** Every call the gateway denied so far: principal, action, resource, and the statement or policy that decided. */
  public get denials() {
    return this.gateway.denials;
  }

  /** The principal a function runs as: its execution role. */
  private functionPrincipal(fn: FunctionInfo): CallPrincipal {
    return { kind: 'role', roleArn: String(resolveIntrinsics(fn.resource.Properties?.Role, this.template)), sessionName: fn.logicalId };
  }

  /** The credentials Lambda gives a function's environment: its role's session (`AWS_SESSION_TOKEN` included). */
  private roleEnvironment(fn: FunctionInfo): Record<string, string> {
    const c = this.gateway.credentialsFor(this.functionPrincipal(fn));
    return { AWS_ACCESS_KEY_ID: c.accessKeyId, AWS_SECRET_ACCESS_KEY: c.secretAccessKey, AWS_SESSION_TOKEN: c.sessionToken ?? '' };
  }

  /**
   * Invokes one of the template's functions as Lambda would (a warm environment, or a new one), with `env` on top of its
   * own environment for environments created from now on. Errors are thrown as the function threw them.
   */
  public async invokeFunction(logicalId: string, event: unknown, env?: Record<string, string>): Promise<unknown> {
    const fn = this.functions.get(logicalId);
    if (!fn) throw new Error(`No function ${logicalId} in the template`);
    if (env && JSON.stringify(env) !== JSON.stringify(this.envOverrides.get(logicalId))) {
      this.envOverrides.set(logicalId, env);
      this.idleHandlers.delete(logicalId);
    }
    try {
      return await this.invoke(fn, event);
    } catch (e: any) {
      // invoke() shapes errors as Step Functions reports them; callers outside a workflow want the function's own.
      const parsed = safeJson(e?.message);
      throw Object.assign(new Error(parsed?.errorMessage ?? e?.message), { name: parsed?.errorType ?? e?.name });
    }
  }

  /** An object creation S3 notified (with `s3EventNotifications`): its event goes through the upload rule like any. */
  private notified(c: S3ObjectCreated): void {
    const event = objectCreatedEvent(c.bucket, c.key, c.size, c.etag, { reason: c.reason, time: new Date(this.clock.now()) });
    const processed = this.putEvent(event);
    processed.catch(() => undefined);
    this.notifications.set(`${c.bucket}/${c.key}`, processed);
  }

  /**
   * With `s3EventNotifications`: what became of the latest "Object Created" event for `key` in the pipeline's bucket (the
   * execution it ran, or NOT_TRIGGERED), waiting up to `timeoutMs` for the object to be written.
   */
  public async whenProcessed(key: string, timeoutMs = 30_000): Promise<LocalExecution> {
    if (!this.options.s3EventNotifications) throw new Error('whenProcessed() needs s3EventNotifications: true');
    const id = `${this.bucketName}/${key}`;
    const deadline = Date.now() + timeoutMs;
    while (!this.notifications.has(id)) {
      if (Date.now() > deadline) throw new Error(`No object was created at s3://${id} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.notifications.get(id)!;
  }

  /** Uploads an object to the pipeline's bucket and, if the upload rule matches, runs the execution it starts. */
  public async upload(key: string, body: Uint8Array | string): Promise<LocalExecution> {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    this.notifications.delete(`${this.bucketName}/${key}`);
    const put = await this.s3Client.send(new S3.PutObjectCommand({ Bucket: this.bucketName, Key: key, Body: bytes }));
    // S3 notifies the upload itself.
    if (this.options.s3EventNotifications) return this.whenProcessed(key);
    const event = objectCreatedEvent(this.bucketName, key, bytes.length, (put.ETag ?? '').replace(/"/g, ''), { versionId: put.VersionId });
    return this.putEvent(event);
  }

  /** Delivers an event as EventBridge would: to the state machine when a rule matches. */
  public async putEvent(event: Record<string, unknown>): Promise<LocalExecution> {
    const rule = this.rules.find((r) => matchesEventPattern(r.pattern, event));
    if (!rule) return { executionArn: '', status: 'NOT_TRIGGERED', alerts: [], events: [], auditRecords: [], states: [], lambdaInvocations: 0, ...noLogs() };
    const input = rule.transformer ? applyInputTransformer(rule.transformer, event) : event;
    // EventBridge delivers only what the target's policies let it; a denied delivery starts nothing on AWS either
    // (it goes to the target's dead-letter queue, which the rule's own policies must let it write).
    const denial = this.gateway.authorize(rule.delivery());
    if (denial) throw new Error(`EventBridge could not deliver the event to the upload rule's target: ${denial.message}`);
    if (rule.queued) return this.deliverToQueue(input);
    return this.startExecution(input);
  }

  /**
   * Queued ingestion: sends the event to the ingest queue and waits until the dispatch function is done with
   * that message (deleted, or moved to the ingest dead-letter queue), reporting the executions it ran.
   */
  private async deliverToQueue(event: any): Promise<LocalExecution> {
    const queued = this.queued!;
    const messageId = queued.send(event);
    const end = await queued.whenDone(messageId);
    // The dispatch function names each execution `<message id>-<receive count>`.
    const attempts = this.executions.filter((e) => executionNameOf(e.executionArn).startsWith(`${messageId}-`));
    const last = attempts[attempts.length - 1];
    const status = last ? last.status : end === 'DEAD_LETTERED' ? 'DEAD_LETTERED' : 'DEDUPLICATED';
    return {
      ...(last ?? { executionArn: '', states: [], lambdaInvocations: 0 }),
      // Each attempt is an execution of its own, logged as such.
      logRecords: attempts.flatMap((a) => a.logRecords),
      logBytes: attempts.reduce((n, a) => n + a.logBytes, 0),
      history: attempts.flatMap((a) => a.history),
      status,
      input: last?.input ?? event,
      alerts: attempts.flatMap((a) => a.alerts),
      events: attempts.flatMap((a) => a.events),
      auditRecords: attempts.flatMap((a) => a.auditRecords),
      lambdaInvocations: attempts.reduce((n, a) => n + a.lambdaInvocations, 0),
      tags: last ? last.tags : await this.currentTags({ bucket: event?.detail?.bucket?.name, key: event?.detail?.object?.key }),
      attempts,
    };
  }

  /** Starts a per-image execution with the given input, as StartExecution would. */
  public async startExecution(input: unknown): Promise<LocalExecution> {
    return this.execute(this.stateMachineId, this.definition, input);
  }

  /** Starts a bulk execution (`{ "images": [...] }`); the pipeline must have a bulk mode. */
  public async startBulkExecution(input: unknown): Promise<LocalExecution> {
    if (!this.bulkStateMachineId) throw new Error('The pipeline has no bulk state machine: set bulkMode');
    return this.execute(this.bulkStateMachineId, this.bulkDefinition, input);
  }

  /**
   * The `aws-sdk:sfn:startSyncExecution` integration against a state machine of the template, run in this runner's
   * interpreter: the SDK's answer in the integration's PascalCase (a failed execution is an answer, not an error).
   */
  private async startSyncStep(params: any): Promise<unknown> {
    const machine = this.stateMachines.get(params.StateMachineArn);
    if (!machine) throw integrationError('Sfn.StateMachineDoesNotExistException', `State Machine Does Not Exist: '${params.StateMachineArn}'`);
    if (machine.type !== 'EXPRESS') throw integrationError('Sfn.StateMachineTypeNotSupportedException', 'This operation is not supported by this type of state machine');
    let input: unknown;
    try {
      input = JSON.parse(params.Input ?? '{}');
    } catch (e) {
      throw integrationError('Sfn.InvalidExecutionInputException', `Invalid State Machine Execution Input: '${(e as Error).message}'`);
    }
    const name = params.Name ?? randomUUID();
    const executionArn = `arn:aws:states:${LOCAL_ACCOUNT.region}:${LOCAL_ACCOUNT.account}:express:${machine.logicalId}:${name}:${randomUUID()}`;
    const run = await this.execute(machine.logicalId, this.stepMachineDefinition(machine), input, executionArn, false);
    const status = run.status === 'SUCCEEDED' || run.status === 'TIMED_OUT' ? run.status : 'FAILED';
    return {
      ExecutionArn: run.executionArn,
      StateMachineArn: params.StateMachineArn,
      Name: name,
      Status: status,
      Input: params.Input ?? '{}',
      ...(status === 'SUCCEEDED' ? { Output: JSON.stringify(run.output ?? null) } : {}),
      ...(run.error !== undefined ? { Error: run.error } : {}),
      ...(run.cause !== undefined ? { Cause: run.cause } : {}),
    };
  }

  private stepMachineDefinition(machine: { logicalId: string; definition?: any }): any {
    if (!machine.definition) {
      machine.definition = stateMachineDefinition(this.template, machine.logicalId);
      this.refuseUnfaithful(machine.definition);
    }
    return machine.definition;
  }

  /**
   * Refuses, naming the step, a workflow step the runner cannot run as Lambda or Step Functions would: a function that
   * is a container image, runs another runtime than Node.js or whose code is not at hand; a state machine that is not
   * EXPRESS or not in the template. A step's Express machine is checked the same way, its own tasks included.
   */
  private refuseUnrunnableSteps(definition: any): void {
    const problems: string[] = [];
    const checkMachine = (step: string, graph: any, seen: Set<string>, top = false) => {
      for (const [stateName, state] of allStates(graph)) {
        if (state.Type !== 'Task') continue;
        const where = top ? `step ${step} (state ${stateName})` : `step ${step} (state ${stateName} of its state machine)`;
        if (this.isLambdaTask(state)) {
          const fnArn: string = state.Resource === 'arn:aws:states:::lambda:invoke' ? state.Parameters?.FunctionName : state.Resource;
          const fn = this.functions.get(String(fnArn).split(':').pop()!);
          const why = fn ? this.unrunnable(fn) : `invokes ${fnArn}, which is not a function of the template`;
          if (why) problems.push(`${where}: ${why}`);
        } else if (state.Resource === 'arn:aws:states:::aws-sdk:sfn:startSyncExecution') {
          const arn = state.Parameters?.StateMachineArn;
          const machine = this.stateMachines.get(arn);
          if (!machine) {
            problems.push(`${where}: starts ${arn}, which is not a state machine of the template`);
          } else if (machine.type !== 'EXPRESS') {
            problems.push(`${where}: starts ${machine.logicalId}, a ${machine.type} state machine; StartSyncExecution runs EXPRESS ones only`);
          } else if (!seen.has(arn)) {
            seen.add(arn);
            try {
              checkMachine(step, this.stepMachineDefinition(machine), seen);
            } catch (e) {
              problems.push(`${where}: its state machine ${machine.logicalId} ${(e as Error).message.replace(/^The local runner /, 'is one the local runner ')}`);
            }
          }
        }
      }
    };
    for (const [stateName, state] of allStates(definition)) {
      const step = STEP_TASK_STATE.exec(stateName)?.[1];
      if (step && state.Type === 'Task') checkMachine(step, { States: { [stateName]: state } }, new Set(), true);
      // An Express step runs in a Parallel state (so that a failed execution is retried): its branch holds the task.
      if (step && state.Type === 'Parallel') for (const branch of state.Branches ?? []) checkMachine(step, branch, new Set(), true);
    }
    if (problems.length > 0) throw new Error(`The local runner cannot run these workflow steps:\n  - ${problems.join('\n  - ')}`);
  }

  /** Why the runner cannot run a function in-process, or undefined when it can. */
  private unrunnable(fn: FunctionInfo): string | undefined {
    if (this.isLibraryFunction(fn)) return undefined;
    const props = fn.resource.Properties ?? {};
    const refuse = (what: string) => `function ${fn.logicalId} ${what}; the local runner runs Node.js functions in-process (Code.fromAsset, Code.fromInline or a bundled NodejsFunction)`;
    if (props.PackageType === 'Image' || props.Code?.ImageUri !== undefined) return refuse('is a container image');
    const runtime = String(props.Runtime ?? '');
    if (!/^nodejs\d+\.x$/.test(runtime)) return refuse(`runs ${runtime || 'an unknown runtime'}`);
    try {
      this.handlerEntry(fn);
    } catch (e) {
      return `function ${fn.logicalId}: ${(e as Error).message}`;
    }
    return undefined;
  }

  private isLibraryFunction(fn: FunctionInfo): boolean {
    if (this.options.bundledFunctions?.includes(fn.logicalId)) return true;
    // The description may hold a token (the endpoint name of a ClassifierEndpoint): resolved first.
    return String(resolveIntrinsics(fn.resource.Properties?.Description ?? '', this.template)).endsWith(LIBRARY_FUNCTION_DESCRIPTION);
  }

  /**
   * The file and export of a function's handler (`dir/file.export` → `<asset>/dir/file.js`, export `export`): its
   * inline code (`ZipFile`, run as `index.js`), or its asset in the cloud assembly (`aws:asset:path` metadata, or the
   * `asset.<hash>` directory its S3 key names).
   */
  private handlerEntry(fn: FunctionInfo): { file: string; source: string; exportName: string } {
    const props = fn.resource.Properties ?? {};
    const handler = String(props.Handler ?? '');
    const dot = handler.lastIndexOf('.');
    if (dot <= 0) throw new Error(`handler "${handler}" is not <file>.<export>`);
    const [module, exportName] = [handler.slice(0, dot), handler.slice(dot + 1)];
    if (typeof props.Code?.ZipFile === 'string') {
      if (module !== 'index') throw new Error(`inline code is index.js, but the handler is ${handler}`);
      return { file: path.join(os.tmpdir(), `ics-local-inline-${fn.logicalId}`, 'index.js'), source: props.Code.ZipFile, exportName };
    }
    const key = typeof props.Code?.S3Key === 'string' ? props.Code.S3Key : undefined;
    const metadataPath = fn.resource.Metadata?.['aws:asset:path'];
    if (!this.options.assemblyDir) throw new Error('its code is an asset: pass assemblyDir (the cloud assembly directory, e.g. app.outdir or cdk.out)');
    const dir = typeof metadataPath === 'string' ? path.resolve(this.options.assemblyDir, metadataPath)
      : key && /\.zip$/.test(key) ? path.resolve(this.options.assemblyDir, `asset.${key.replace(/\.zip$/, '')}`) : undefined;
    if (!dir || !fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
      throw new Error(`its asset ${dir ?? `(S3 key ${key ?? 'unknown'})`} is not a directory of the cloud assembly ${this.options.assemblyDir}`);
    }
    for (const ext of ['.js', '.cjs']) {
      const file = path.join(dir, `${module}${ext}`);
      if (fs.existsSync(file)) return { file, source: fs.readFileSync(file, 'utf8'), exportName };
    }
    if (fs.existsSync(path.join(dir, `${module}.mjs`))) throw new Error(`${module}.mjs is an ES module; the local runner runs CommonJS handlers (.js, .cjs)`);
    throw new Error(`its asset has no ${module}.js for the handler ${handler}`);
  }

  private async execute(stateMachineId: string, original: any, input: unknown, arn?: string, recordExecution = true): Promise<LocalExecution> {
    const executionArn = arn ?? `arn:aws:states:${LOCAL_ACCOUNT.region}:${LOCAL_ACCOUNT.account}:express:${physicalName(stateMachineId, '')}:${randomUUID()}`;
    const { definition, stringify, hashes } = compatDefinition(original);
    const scaled = this.options.timeScale !== undefined;
    if (scaled) scaleDefinitionTime(definition, this.options.timeScale!);
    const jsonataOutputs = rewriteJsonataPassStates(definition);
    // Effects are told apart by the execution ARN every result carries: executions run concurrently.
    const alertsBefore = this.sns.messages.length;
    const denialsBefore = this.gateway.denials.length;
    const eventsBefore = this.events.length;
    const writesBefore = this.objectWrites.length;
    const firehoseBefore = this.firehoseRecords.length;
    let invocations = 0;
    const taskResourceLocalHandlers: Record<string, TaskHandler> = {};
    // The integrations run as the state machine's role, as Step Functions calls them.
    const roleArn = roleArnOf(this.template, stateMachineId);
    const principal: CallPrincipal = { kind: 'role', roleArn: roleArn ?? '', sessionName: 'StepFunctions' };
    for (const [name, state] of allStates(definition)) {
      if (state.Resource === HASH_PASS_RESOURCE) {
        taskResourceLocalHandlers[name] = async (params: any) => applyHashes(params, hashes[name]);
      } else if (state.Resource === JSONATA_PASS_RESOURCE) {
        const output = jsonataOutputs[name];
        taskResourceLocalHandlers[name] = async (passInput: any) => JSON.parse(JSON.stringify(await evaluateOutput(output, passInput) ?? null));
      } else if (state.Type === 'Task') {
        const handler = this.taskHandler(state, principal);
        const lambda = this.isLambdaTask(state);
        taskResourceLocalHandlers[name] = (params: any) => {
          if (lambda) invocations++;
          return handler(stringifyDeferred(params, stringify[name]));
        };
      }
    }
    // Scaled time runs the definition's own backoff and jitter; otherwise every retry waits retryDelayMs.
    const retryIntervalOverrides = scaled ? {} : Object.fromEntries(
      allStates(definition).filter(([, s]) => s.Retry).map(([name]) => [name, this.options.retryDelayMs ?? 0]),
    );
    const overrides = { taskResourceLocalHandlers, retryIntervalOverrides };
    const context = (id: string) => ({
      Execution: { Id: id, Name: executionNameOf(id) },
      // The interpreter does not fill $$.State; the execution start stands in for the entered time.
      State: { EnteredTime: new Date().toISOString() },
    });
    // The interpreter validates the ASL once per definition (it takes longer than running one execution); a scaled
    // definition has fractional intervals, which the validator rejects, so the unscaled one is validated.
    this.validateOnce(original);
    const options = { validationOptions: { noValidate: true } };

    const childHistories: ExecutionHistoryEvent[][] = [];
    // Distributed Maps run here (the interpreter ignores ItemReader and ResultWriter): each becomes a task
    // whose handler reads the items, runs the item processor as child executions and writes the results.
    for (const [name, state] of Object.entries<any>(definition.States)) {
      if (state.Type !== 'Map' || state.ItemProcessor?.ProcessorConfig?.Mode !== 'DISTRIBUTED') continue;
      const keep = ['Comment', 'InputPath', 'ResultPath', 'OutputPath', 'Next', 'End', 'Retry', 'Catch'];
      definition.States[name] = {
        Type: 'Task',
        Resource: 'arn:aws:states:::ics-local:distributed-map',
        ...Object.fromEntries(keep.filter((k) => k in state).map((k) => [k, state[k]])),
      };
      taskResourceLocalHandlers[name] = (mapInput: any) => runDistributedMap(state, mapInput, {
        s3: this.clientsFor(principal).s3,
        executionArn,
        runChild: async (childInput) => {
          const childArn = `${executionArn}:${randomUUID()}`;
          const child = new StateMachine({ StartAt: state.ItemProcessor.StartAt, States: state.ItemProcessor.States }, options)
            .run(childInput, { overrides, context: context(childArn) });
          const childEvents: InterpreterEvent[] = [];
          const childCollect = (async () => {
            for await (const e of child.eventLogs) childEvents.push(e as InterpreterEvent);
          })();
          try {
            return { status: 'SUCCEEDED', output: await child.result };
          } catch (e: any) {
            return { status: 'FAILED', error: e.cause?.name ?? e.name, cause: e.cause?.message ?? e.message };
          } finally {
            // A child is an execution of its own, logged with the parent's configuration.
            await childCollect;
            childHistories.push(executionHistory(childEvents, { definition: state.ItemProcessor, executionArn: childArn, roleArn, taskAttempts }));
          }
        },
      });
    }

    // Step Functions' 256 KiB payload quota (States.DataLimitExceeded), which the interpreter does not enforce.
    enforcePayloadLimit(taskResourceLocalHandlers, stringify);
    // What each task attempt was called with and answered: the log's TaskScheduled parameters and TaskSucceeded output.
    const taskAttempts = recordTaskAttempts(taskResourceLocalHandlers, stringify);
    const machine = new StateMachine(definition, options);
    const run = machine.run(input as any, { overrides, context: context(executionArn) });
    const states: string[] = [];
    const interpreterEvents: InterpreterEvent[] = [];
    const collect = (async () => {
      for await (const e of run.eventLogs) {
        interpreterEvents.push(e as InterpreterEvent);
        if (e.type === 'StateEntered' && e.state) states.push(e.state.name);
      }
    })();
    let outcome: Pick<LocalExecution, 'status' | 'output' | 'error' | 'cause'>;
    try {
      outcome = { status: 'SUCCEEDED', output: await run.result };
    } catch (e: any) {
      outcome = e?.name === 'ExecutionTimeoutError'
        ? { status: 'TIMED_OUT', error: 'States.Timeout', cause: 'The execution ran longer than its TimeoutSeconds' }
        : { status: 'FAILED', error: e.cause?.name ?? e.name, cause: e.cause?.message ?? e.message };
    }
    await collect;
    // A record without an ARN (a bulk digest) belongs to the execution that wrote it; child executions' ARNs extend the parent's.
    const mine = (record: any) => typeof record?.executionArn !== 'string' || record.executionArn === executionArn
      || record.executionArn.startsWith(`${executionArn}:`);
    const alerts = this.sns.messages.slice(alertsBefore).filter((a) => mine(safeJson(a.message)));
    const alerted = alerts.map((a) => safeJson(a.message))[0];
    const events = this.events.slice(eventsBefore).filter((e) => mine(e.detail));
    const auditWrites = [...this.objectWrites.slice(writesBefore), ...this.firehoseRecords.slice(firehoseBefore)];
    const auditRecords = auditWrites.map((w) => ({ bucket: w.bucket, key: w.key, record: safeJson(w.body) }))
      .filter((w) => mine(w.record));
    const result = outcome.output ?? auditRecords[0]?.record ?? events[0]?.detail ?? alerted;
    const history = [
      ...executionHistory(interpreterEvents, { definition: original, executionArn, roleArn, taskAttempts }),
      ...childHistories.flat(),
    ];
    const logRecords = renderLogRecords(history, loggingConfigurationOf(this.template, stateMachineId));
    const execution: LocalExecution = {
      executionArn,
      input,
      ...outcome,
      result,
      alerts,
      events,
      auditRecords,
      tags: await this.currentTags(input),
      states,
      lambdaInvocations: invocations,
      logRecords,
      logBytes: cloudWatchLogBytes(logRecords),
      history,
      denials: this.gateway.denials.slice(denialsBefore),
    };
    if (recordExecution) this.executions.push(execution);
    return execution;
  }

  /** StartSyncExecution from the dispatch function: runs the named per-image state machine in this runner. */
  private async startSync(req: ExecutionRequest): Promise<ExecutionResult> {
    const startDate = this.clock.now();
    if (req.stateMachineArn !== resolveIntrinsics({ Ref: this.stateMachineId }, this.template)) {
      throw Object.assign(new Error(`State Machine Does Not Exist: '${req.stateMachineArn}'`), { name: 'StateMachineDoesNotExist', code: 'StateMachineDoesNotExist' });
    }
    const run = await this.execute(this.stateMachineId, this.definition, JSON.parse(req.input), req.executionArn);
    return {
      executionArn: run.executionArn,
      status: run.status as ExecutionResult['status'],
      ...(run.status === 'SUCCEEDED' ? { output: JSON.stringify(run.output ?? null) } : { error: run.error, cause: run.cause }),
      startDate,
      stopDate: this.clock.now(),
    };
  }

  /** Validates a definition as the interpreter does, once: its rewritten form, with every JSONata Pass state a task. */
  private validateOnce(original: unknown) {
    if (this.validated.has(original)) return;
    const { definition } = compatDefinition(original);
    rewriteJsonataPassStates(definition);
    for (const state of Object.values<any>(definition.States)) {
      // Distributed Maps run as tasks of the runner; the interpreter's validator does not know their fields.
      if (state.Type === 'Map' && state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED') {
        Object.assign(state, { Type: 'Task', Resource: 'arn:aws:states:::ics-local:distributed-map' });
        for (const k of ['ItemProcessor', 'ItemReader', 'ItemSelector', 'ItemBatcher', 'ResultWriter', 'MaxConcurrency', 'ToleratedFailurePercentage', 'Label', 'ItemsPath', 'Parameters']) delete state[k];
      }
    }
    new StateMachine(definition, { validationOptions: { checkArn: false, checkPaths: false } });
    this.validated.add(original);
  }

  /** Tags of the execution's input object, if it still exists (it does not after quarantine). */
  private async currentTags(input: any): Promise<Record<string, string> | undefined> {
    if (typeof input?.bucket !== 'string' || typeof input?.key !== 'string') return undefined;
    try {
      const res = await this.observerClient.send(new S3.GetObjectTaggingCommand({ Bucket: input.bucket, Key: input.key }));
      return Object.fromEntries((res.TagSet ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
    } catch {
      return undefined;
    }
  }

  /**
   * Delivers every audit record still buffered in the delivery streams to S3 now, as GZIP objects under the audit
   * prefix. On AWS, Firehose delivers a buffer when it reaches the stream's buffering size or interval (5 minutes by
   * default), so records appear in S3 minutes after their executions; locally that happens on flush, on close, or
   * on the interval in the runner's (scaled) time. Rejects when S3 refuses the delivery (the records stay buffered,
   * as Firehose keeps retrying for up to 24 hours). Nothing to do without a delivery stream.
   */
  public async flushAuditTrail(): Promise<void> {
    await this.firehose?.flush();
  }

  /**
   * The audit trail as users read it from the audit bucket: flushes the delivery streams, lists the objects under
   * the audit prefix, gunzips `.gz` objects (delivery stream) and reads `.json` objects (object per image), and
   * returns every JSON line as a record, in key order.
   */
  public async readAuditTrail(): Promise<any[]> {
    await this.flushAuditTrail();
    const { bucket, prefix } = this.auditLocation();
    const records: any[] = [];
    let token: string | undefined;
    do {
      const page = await this.observerClient.send(new S3.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const { Key } of page.Contents ?? []) {
        if (!Key || !(Key.endsWith('.gz') || Key.endsWith('.json'))) continue;
        const got = await this.observerClient.send(new S3.GetObjectCommand({ Bucket: bucket, Key }));
        const bytes = Buffer.from(await got.Body!.transformToByteArray());
        const text = (Key.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
        for (const line of text.split('\n')) if (line.trim() !== '') records.push(JSON.parse(line));
      }
      token = page.NextContinuationToken;
    } while (token);
    return records;
  }

  /** Bucket and static key prefix of the audit records: the delivery stream's, else the WriteAuditRecord putObject's. */
  /** The bucket the audit trail is delivered to (and human review's feedback manifest is written to). */
  public get auditBucketName(): string {
    return this.auditLocation().bucket;
  }

  private auditLocation(): { bucket: string; prefix: string } {
    const stream = this.deliveryStreams.find((s) => this.firehose?.streams.includes(s));
    if (stream) return { bucket: stream.bucket, prefix: stream.prefix.split('!{')[0] };
    const put = allStates(this.definition).map(([, s]) => s)
      .find((s) => s.Type === 'Task' && s.Resource === 'arn:aws:states:::aws-sdk:s3:putObject' && typeof s.Parameters?.['Key.$'] === 'string');
    const format = /^States\.Format\('([^'{]*)/.exec(put?.Parameters?.['Key.$'] ?? '');
    if (!put || !format) throw new Error('The pipeline writes no audit trail (no delivery stream, no audit putObject state)');
    return { bucket: put.Parameters.Bucket, prefix: format[1] };
  }

  /** Stops the peers, after delivering what the delivery streams still buffer (so S3 holds the whole audit trail). */
  public async close(): Promise<void> {
    // First the queue's pollers: a batch in flight finishes against the peers still running.
    await this.queued?.close();
    // Then Firehose's buffers, while the S3 peer still runs; a failed delivery is reported once everything is stopped.
    const delivered = this.firehose?.close().then(() => undefined, (e: unknown) => e);
    const deliveryError = await delivered;
    this.s3Client?.destroy();
    this.observerClient?.destroy();
    for (const c of this.principalClients.values()) for (const client of Object.values(c)) client?.destroy();
    this.dynamodbClient?.destroy();
    await Promise.all([
      this.s3?.close(), this.sagemaker?.close(), this.sns?.close(), this.rekognition?.close(), this.ownDynamoDB ? this.dynamodb?.close() : undefined,
    ]);
    if (deliveryError) throw deliveryError;
  }

  private async init() {
    // The upload bucket (maybe imported) and every bucket the template creates (audit, quarantine).
    const created = Object.entries(this.template.Resources).filter(([, r]) => r.Type === 'AWS::S3::Bucket').map(([id]) => physicalName(id, 'AWS::S3::Bucket'));
    const gateway = this.gateway;
    this.s3 = await startS3({
      buckets: [...new Set([this.bucketName, ...created, ...this.options.extraBuckets ?? []])],
      onObjectCreated: this.options.s3EventNotifications ? (c) => this.notified(c) : undefined,
      gateway,
    });
    this.sagemaker = await startSageMakerRuntime({ models: this.options.models, capacity: this.options.capacity, clock: this.clock, gateway });
    this.sns = await startSnsSink({ gateway });
    // The kit's own calls (your uploads, reads for reports), signed as the operator: not a principal of the pipeline.
    this.s3Client = this.s3.client();
    this.observerClient = this.s3.client({ customUserAgent: OBSERVER_USER_AGENT });
    // Rekognition reads the image with its caller's permissions, which the gateway checked with the Detect call.
    this.rekognition = await startRekognition({ s3: this.s3Client, gateway, ...this.options.rekognition });
    if (this.deliveryStreams.length > 0) {
      // Firehose writes each object as the stream's role.
      const streamClients = new Map<string, S3.S3Client>();
      this.firehose = await startFirehose({
        streams: this.deliveryStreams,
        s3: (stream) => streamClients.get(stream.name) ?? streamClients.set(stream.name, this.s3.client({
          credentials: stream.roleArn ? gateway.credentialsFor({ kind: 'role', roleArn: stream.roleArn, sessionName: 'Firehose' }) : gateway.operatorCredentials,
        })).get(stream.name)!,
        clock: this.clock,
        maxRecordsPerObject: this.options.firehoseMaxRecordsPerObject,
        gateway,
      });
    }
    this.peerEnv = {
      AWS_REGION: LOCAL_ACCOUNT.region,
      AWS_ENDPOINT_URL_S3: this.s3.url,
      AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: this.sagemaker.url,
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
      ICS_S3_FORCE_PATH_STYLE: 'true',
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'ERROR',
      // EMF metrics go to stdout as log lines on Lambda; locally they would only flood the console.
      POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
    };
    if (this.topology) {
      const dispatch = this.functions.get(this.topology.functionId);
      if (!dispatch) throw new Error(`The ingest queue's event source mapping invokes ${this.topology.functionId}, which is not in the template`);
      // The SDK sends SQS requests to the queue URL's host: the dispatch function gets the peer's URL for the queue.
      dispatch.env[DispatchEnv.QUEUE_URL] = `${'${'}QUEUE_PEER}`;
      this.queued = await LocalQueuedIngestion.start({
        topology: this.topology,
        template: this.template,
        clock: this.clock,
        invokeDispatch: (event) => this.invoke(dispatch, event),
        startSync: (req) => this.startSync(req),
        gateway,
      });
      Object.assign(this.peerEnv, this.queued.env);
      dispatch.env[DispatchEnv.QUEUE_URL] = this.queued.queueUrlForClients;
      this.dynamodb = this.queued.dynamodb;
    } else {
      const tables = tablesFromTemplate(this.template.Resources);
      if (tables.length > 0) {
        this.dynamodb = await startDynamoDB({ tables, gateway });
        this.ownDynamoDB = true;
        this.peerEnv.AWS_ENDPOINT_URL_DYNAMODB = this.dynamodb.url;
      }
    }
    if (this.dynamodb) this.dynamodbClient = this.dynamodb.client();
    if (this.options.metricsSink) this.peerEnv.POWERTOOLS_METRICS_DISABLED = 'false';
  }

  private isLambdaTask(state: any): boolean {
    return state.Resource.startsWith('arn:aws:lambda:') || state.Resource === 'arn:aws:states:::lambda:invoke';
  }

  /**
   * The state's integration, called as `principal` (the state machine's role): through the peers, whose gateway
   * authorizes each request, or in the runner (Lambda, Step Functions, EventBridge), authorized here the same way.
   */
  private taskHandler(state: any, principal: CallPrincipal): TaskHandler {
    const resource: string = state.Resource;
    const clients = this.clientsFor(principal);
    const policies = this.gateway.policies;
    // A call the runner makes itself: denied, it fails with the error Step Functions names the service's refusal.
    const authorize = (calls: Call[], errorName: string) => {
      const denial = this.gateway.authorize(calls);
      if (denial) throw integrationError(errorName, denial.message);
    };
    if (resource.startsWith('arn:aws:lambda:') || resource === 'arn:aws:states:::lambda:invoke') {
      const fnArn = resource === 'arn:aws:states:::lambda:invoke' ? state.Parameters?.FunctionName : resource;
      const fn = this.functions.get(fnArn.split(':').pop());
      if (!fn) throw new Error(`Task ${resource} invokes a function that is not in the template`);
      return (payload) => {
        // Lambda's AccessDeniedException is not in its SDK model: the integration reports the base exception.
        authorize([invokeFunctionCall(policies, principal, fnArn)], 'Lambda.AWSLambdaException');
        return this.invoke(fn, payload);
      };
    }
    if (resource === 'arn:aws:states:::aws-sdk:sfn:startSyncExecution') {
      return (params) => {
        authorize([startExecutionCall(policies, principal, String(params.StateMachineArn), true)], 'Sfn.SfnException');
        return this.startSyncStep(params);
      };
    }
    if (resource === 'arn:aws:states:::sns:publish') {
      const client = clients.sns;
      return async (params) => {
        try {
          return await client.send(new PublishCommand(params));
        } catch (e: any) {
          // The optimized SNS integration names errors `SNS.<Name>Exception`.
          throw integrationError(optimizedIntegrationErrorName('SNS', sdkErrorNameOf(e)), e);
        }
      };
    }
    if (resource === 'arn:aws:states:::events:putEvents') {
      return async (params) => {
        const entries = (params.Entries ?? []) as any[];
        authorize([...new Set(entries.map((e) => String(e.EventBusName ?? 'default')))].map((bus) => putEventsCall(policies, principal, bus)),
          'EventBridge.AccessDeniedException');
        const results = entries.map((e) => {
          const bus = String(e.EventBusName ?? 'default');
          const code = this.failingEventBuses.get(bus) ?? this.failingEventBuses.get(bus.split('/').pop()!);
          if (code) return { ErrorCode: code, ErrorMessage: `The entry for event bus ${bus} failed (${code})` };
          this.events.push({ source: e.Source, detailType: e.DetailType, detail: e.Detail, eventBusName: e.EventBusName });
          return { EventId: randomUUID() };
        });
        const out = { Entries: results, FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length };
        // A response with a non-zero FailedEntryCount fails the task `EventBridge.FailedEntry` (Step Functions
        // Developer Guide, "Add EventBridge events with Step Functions"); EventBridge itself keeps the other entries.
        if (out.FailedEntryCount > 0) throw integrationError('EventBridge.FailedEntry', JSON.stringify(out));
        return out;
      };
    }
    if (resource === 'arn:aws:states:::aws-sdk:firehose:putRecord') {
      const firehose = this.firehose;
      const client = firehose && clients.firehose;
      return async (params) => {
        try {
          if (!firehose || !client) throw new Error('no delivery stream in the template');
          // The Data blob: a string as its UTF-8 bytes, anything else as compact JSON (DESIGN.md: no recording of a
          // blob field is known; an object is compact JSON under either reading). The SDK base64-encodes it on the wire.
          const body = blobParameterText(params.Record?.Data);
          const out: any = await client.send(new PutRecordCommand({ ...params, Record: { Data: Buffer.from(body, 'utf8') } }));
          delete out.$metadata;
          // Where the record will be delivered: known now, since the object's key is evaluated when its buffer opens.
          const at = firehose.locate(out.RecordId);
          if (at) this.firehoseRecords.push({ bucket: at.bucket, key: at.key, body });
          return out;
        } catch (e: any) {
          throw integrationError(sdkIntegrationErrorName('firehose', sdkErrorNameOf(e)), e);
        }
      };
    }
    const dynamo = /^arn:aws:states:::dynamodb:(putItem|getItem|updateItem)$/.exec(resource);
    const dynamoCommands: Record<string, new (input: any) => any> = {
      putItem: PutItemCommand, getItem: GetItemCommand, updateItem: UpdateItemCommand,
    };
    if (dynamo) {
      const client = clients.dynamodb;
      return async (params) => {
        try {
          if (!client) throw new Error('no DynamoDB table in the template');
          const out: any = await client.send(new dynamoCommands[dynamo[1]](params));
          delete out.$metadata;
          return out;
        } catch (e: any) {
          // The optimized DynamoDB integration names errors `DynamoDB.<Name>Exception`, and one its model lacks (an
          // AccessDeniedException) after the SDK's base exception, `DynamoDB.AmazonDynamoDBException`.
          const name = sdkErrorNameOf(e);
          const modelled = sdkModelledErrors('dynamodb')?.has(name) || name === 'SdkClientException';
          throw integrationError(modelled ? optimizedIntegrationErrorName('DynamoDB', name) : 'DynamoDB.AmazonDynamoDBException', e);
        }
      };
    }
    const sdk = /^arn:aws:states:::aws-sdk:s3:(\w+)$/.exec(resource);
    if (sdk) {
      // The AWS SDK integration: the action's input in the SDK's own shape, errors named as AWS does (`S3.NoSuchKeyException`).
      const command = (S3 as any)[`${sdk[1][0].toUpperCase()}${sdk[1].slice(1)}Command`];
      const client = clients.s3;
      return async (params) => {
        try {
          // putObject's Body is stored JSON-serialized, a string with its quotes (see s3BodyParameterText).
          const body = sdk[1] === 'putObject' ? s3BodyParameterText(params.Body) : undefined;
          const out: any = await client.send(new command(body === undefined ? params : { ...params, Body: body }));
          delete out.$metadata;
          if (body !== undefined) this.objectWrites.push({ bucket: params.Bucket, key: params.Key, body });
          return out;
        } catch (e: any) {
          throw integrationError(sdkIntegrationErrorName('s3', sdkErrorNameOf(e)), e, sdkIntegrationServiceName('s3'));
        }
      };
    }
    const rekognition = /^arn:aws:states:::aws-sdk:rekognition:(detectLabels|detectModerationLabels)$/.exec(resource);
    if (rekognition) {
      const client = clients.rekognition;
      const send = (params: any): Promise<any> => (rekognition[1] === 'detectLabels'
        ? client.send(new Rekognition.DetectLabelsCommand(params))
        : client.send(new Rekognition.DetectModerationLabelsCommand(params)));
      return async (params) => {
        try {
          const out: any = await send(params);
          delete out.$metadata;
          return out;
        } catch (e: any) {
          throw integrationError(sdkIntegrationErrorName('rekognition', sdkErrorNameOf(e)), e);
        }
      };
    }
    throw new Error(`unreachable: ${resource}`);
  }

  /** SDK clients for the peers, signed with `principal`'s credentials (created once per principal). */
  private clientsFor(principal: CallPrincipal): PrincipalClients {
    const key = principal.kind === 'role' ? principal.roleArn : principal.kind;
    const existing = this.principalClients.get(key);
    if (existing) return existing;
    const credentials = this.gateway.credentialsFor(principal);
    const region = LOCAL_ACCOUNT.region;
    const clients: PrincipalClients = {
      s3: this.s3.client({ credentials }),
      sns: new SNSClient({ endpoint: this.sns.url, region, credentials }),
      rekognition: new Rekognition.RekognitionClient({ endpoint: this.rekognition.url, region, credentials, maxAttempts: 1 }),
      firehose: this.firehose && new FirehoseClient({ endpoint: this.firehose.url, region, credentials, maxAttempts: 1 }),
      dynamodb: this.dynamodb?.client(credentials),
    };
    this.principalClients.set(key, clients);
    return clients;
  }

  /** The calls that deliver an upload rule's event to `target` (and, queued, to the dispatch function). */
  private deliveryCalls(ruleId: string, target: any, mappedFunctionId?: string): Call[] {
    const calls = ruleTargetCalls(this.template, this.gateway.policies, ruleId, target).target;
    const fn = mappedFunctionId ? this.functions.get(mappedFunctionId) : undefined;
    if (!fn) return calls;
    const queueArn = String(resolveIntrinsics(target.Arn, this.template));
    return [...calls, ...eventSourceMappingCalls(this.gateway.policies, this.functionPrincipal(fn), queueArn)];
  }

  /** Invokes the bundled handler in-process as Lambda would, errors shaped as Step Functions reports them. */
  private async invoke(fn: FunctionInfo, payload: unknown): Promise<unknown> {
    this.invocations++;
    // An idle environment of this function, or a new one (a cold start): never one another invocation is using,
    // since a bundle's module state (SDK clients, Powertools' batch processor) belongs to one invocation at a time.
    const idle = this.idleHandlers.get(fn.logicalId) ?? [];
    this.idleHandlers.set(fn.logicalId, idle);
    const handler = idle.pop() ?? this.loadHandler(fn);
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const timeoutRealMs = this.options.timeScale === undefined ? fn.timeoutMs : scaledTimeout(fn.timeoutMs / 1000, this.options.timeScale) * 1000;
    const timeout = new Promise((_r, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        reject(Object.assign(new Error(`Task timed out after ${fn.timeoutMs / 1000} seconds`), { name: 'Sandbox.Timedout' }));
      }, timeoutRealMs);
    });
    // The Lambda context, with the remaining time on the simulated clock.
    const deadline = this.clock.now() + fn.timeoutMs;
    const context = {
      functionName: fn.logicalId,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${LOCAL_ACCOUNT.region}:${LOCAL_ACCOUNT.account}:function:${fn.logicalId}`,
      // Lambda's default when the template sets none.
      memoryLimitInMB: String(fn.resource.Properties?.MemorySize ?? 128),
      awsRequestId: randomUUID(),
      logGroupName: `/aws/lambda/${fn.logicalId}`,
      logStreamName: 'local',
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - this.clock.now()),
    };
    try {
      return await Promise.race([handler(JSON.parse(JSON.stringify(payload)), context), timeout]);
    } catch (e: any) {
      const errorType = e?.name ?? 'Error';
      throw Object.assign(new Error(JSON.stringify({ errorType, errorMessage: e?.message ?? String(e), trace: [] })), { name: errorType });
    } finally {
      clearTimeout(timer);
      // Lambda discards an environment whose invocation timed out; the others are reused.
      if (!timedOut) idle.push(handler);
    }
  }

  /** Loads the bundle with the function's environment, as a new execution environment does. */
  private loadHandler(fn: FunctionInfo): Handler {
    this.coldStarts[fn.logicalId] = (this.coldStarts[fn.logicalId] ?? 0) + 1;
    if (!this.isLibraryFunction(fn)) {
      // Your function (a workflow step's): its own code from the cloud assembly, or its inline code.
      const why = this.unrunnable(fn);
      if (why) throw new Error(why);
      const { file, source, exportName } = this.handlerEntry(fn);
      return this.loadModule(fn, file, source, exportName);
    }
    // Bundles are named after their function class: ClassifyFunction → classify.lambda.
    const name = /(Classify|Summarize|Dispatch|ConsoleApi|ReviewMetrics)Function/.exec(fn.logicalId)?.[1]
      ?.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();
    if (!name) throw new Error(`No bundled handler is known for function ${fn.logicalId}`);
    // Absolute: createRequire needs an absolute path, and a relative handlersDir means the caller's working directory.
    const entry = path.resolve(this.options.handlersDir ?? HANDLERS_DIR, `${name}.lambda`, 'index.js');
    return this.loadModule(fn, entry, fs.readFileSync(entry, 'utf8'), 'handler');
  }

  /** Runs a CommonJS module's source as a new execution environment would, and returns its handler export. */
  private loadModule(fn: FunctionInfo, entry: string, source: string, exportName: string): Handler {
    // A fresh module with its own `process.env` (the template's environment plus the peers' endpoints),
    // outside every module cache (Node's and jest's): each runner gets its own SDK clients configured for
    // its own peers, as a new execution environment would, and the host process's environment is untouched.
    const env = { ...process.env, ...this.peerEnv, ...this.roleEnvironment(fn), ...fn.env, ...this.envOverrides.get(fn.logicalId) };
    // EMF lines go to the metrics sink (CloudWatch's part on Lambda) when there is one; everything else to stdout.
    const sink = this.options.metricsSink;
    const stdout = sink && new Proxy(process.stdout, {
      get: (target, prop) => {
        if (prop !== 'write') return Reflect.get(target, prop);
        return (chunk: unknown, ...rest: any[]) => {
          const text = String(chunk);
          if (text.includes('"_aws"')) {
            for (const line of text.split('\n').filter((l) => l.trim() !== '')) sink(line, this.clock.now());
            const cb = rest.find((r) => typeof r === 'function');
            if (cb) cb();
            return true;
          }
          return (process.stdout.write as any)(chunk, ...rest);
        };
      },
    });
    const sandboxedProcess = new Proxy(process, {
      get: (target, prop) => {
        if (prop === 'env') return env;
        if (prop === 'stdout' && stdout) return stdout;
        const value = Reflect.get(target, prop);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const wrapper = vm.runInThisContext(
      `(function (exports, require, module, __filename, __dirname, process) {${source}\n})`,
      { filename: entry },
    );
    const mod = { exports: {} as any };
    wrapper(mod.exports, createRequire(entry), mod, entry, path.dirname(entry), sandboxedProcess);
    const handler = mod.exports[exportName];
    if (typeof handler !== 'function') throw new Error(`function ${fn.logicalId}: ${entry} exports no function ${exportName}`);
    return handler as Handler;
  }

  /** The pipeline's state machine whose logical ID ends in `<kind><hash>` (e.g. IcsStateMachine1A2B3C4D). */
  private findStateMachine(kind: string, optional = false): string | undefined {
    const pattern = new RegExp(`^${this.options.pipelineId ?? '.*?'}${kind}[0-9A-F]{8}$`);
    const ids = Object.entries(this.template.Resources)
      .filter(([id, r]) => r.Type === 'AWS::StepFunctions::StateMachine' && pattern.test(id) && !(kind === 'StateMachine' && id.includes('Bulk')))
      .map(([id]) => id);
    if (ids.length === 0 && optional) return undefined;
    if (ids.length !== 1) {
      throw new Error(`Expected one pipeline ${kind}${this.options.pipelineId ? ` under ${this.options.pipelineId}` : ''}, found ${ids.length}: pass pipelineId`);
    }
    return ids[0];
  }

  /** Definitions the interpreter would run differently from AWS are refused, not approximated. */
  private refuseUnfaithful(definition: any) {
    const problems: string[] = [];
    if (definition.QueryLanguage === 'JSONata') problems.push('the state machine uses JSONata, which aws-local-stepfunctions ignores');
    for (const [name, state] of allStates(definition)) {
      const jsonataProblem = unsupportedJsonata(name, state);
      if (jsonataProblem) problems.push(jsonataProblem);
      if (state.Type === 'Task' && !(state.Resource.startsWith('arn:aws:lambda:') || SUPPORTED_INTEGRATIONS.includes(state.Resource))) {
        problems.push(`state ${name} calls ${state.Resource}, which the local runner does not implement`);
      }
      if (state.Type === 'Map' && state.ItemBatcher && (state.ItemBatcher.MaxInputBytesPerBatch || state.ItemBatcher.BatchInput)) {
        problems.push(`state ${name} batches by bytes or with BatchInput, which the local runner does not implement`);
      }
    }
    if (problems.length > 0) throw new Error(`The local runner cannot execute this definition faithfully:\n  - ${problems.join('\n  - ')}`);
  }
}

function allStates(definition: any): Array<[string, any]> {
  return Object.entries<any>(definition.States).flatMap(([name, state]) => [
    [name, state] as [string, any],
    ...(state.ItemProcessor ?? state.Iterator ? allStates(state.ItemProcessor ?? state.Iterator) : []),
    ...(state.Branches ?? []).flatMap((b: any) => allStates(b)),
  ]);
}

/** The name in an execution ARN: `...:execution:<machine>:<name>`, or Express's `...:express:<machine>:<name>[:<id>]`. */
function executionNameOf(arn: string): string {
  const parts = arn.split(':');
  return parts[7] ?? parts[parts.length - 1];
}

/** An upload that started no execution logs nothing. */
function noLogs(): Pick<LocalExecution, 'logRecords' | 'logBytes' | 'history'> {
  return { logRecords: [], logBytes: 0, history: [] };
}

function safeJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
