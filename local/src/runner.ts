import './polyfills';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as S3 from '@aws-sdk/client-s3';
import { LOCAL_CLOCK_ENV } from 'cdk-image-classification-pipeline/lib/handlers/circuit-breaker';
import { DEFERRED_ERROR, DispatchEnv } from 'cdk-image-classification-pipeline/lib/handlers/dispatch';
import { AuditLocation, auditLocation, readAuditRecords } from './audit-trail';
import { ScaledClock } from './clock';
import { matchesEventPattern, applyInputTransformer, objectCreatedEvent } from './event-pattern';
import { executionNameOf, ExecutionRunner, LocalExecution, objectTags } from './execution';
import { Gateway } from './gateway/gateway';
import { Call } from './iam/calls';
import { CallPrincipal } from './iam/model';
import { eventSourceMappingCalls, ruleTargetCalls } from './iam/plan';
import { TemplatePolicies } from './iam/template-policies';
import { PrincipalClientCache } from './integrations/clients';
import { IntegrationContext, LocalEvent, LocalObjectWrite } from './integrations/context';
import { LambdaRuntime } from './lambda-runtime';
import { DynamoDBPeer, startDynamoDB } from './peers/dynamodb';
import { FirehosePeer, startFirehose } from './peers/firehose';
import { RekognitionPeer, startRekognition } from './peers/rekognition';
import { S3ObjectCreated, S3Peer, startS3 } from './peers/s3';
import { SageMakerRuntimePeer, startSageMakerRuntime } from './peers/sagemaker-runtime';
import { SnsSink, startSnsSink } from './peers/sns';
import { ExecutionRequest, ExecutionResult } from './peers/stepfunctions';
import { LocalPipelineOptions } from './pipeline-options';
import { LocalQueuedIngestion } from './queued-ingestion';
import { refuseUnfaithful, refuseUnrunnableSteps, stepMachineDefinition } from './runnable';
import { functionPrincipal, TemplateModel, templateModel, UploadRule, uploadBucketName } from './template-model';
import { CfnTemplate, LOCAL_ACCOUNT, physicalName, resolveIntrinsics } from './template-resolver';

export { HANDLERS_DIR } from './lambda-runtime';
export type { LocalExecution } from './execution';
export type { LocalEvent, LocalObjectWrite } from './integrations/context';
export type { LocalIamOptions, LocalPipelineOptions } from './pipeline-options';

/** The user agent of the runner's own reads (see `observerClient`); request meters can leave them out. */
export const OBSERVER_USER_AGENT = 'ics-local-observer';

/**
 * Runs a synthesized pipeline on this machine: its real state machine definition in
 * aws-local-stepfunctions, its real bundled handler in-process, and S3, SageMaker Runtime and SNS peers
 * on loopback. Nothing is mocked above the protocol level.
 *
 * The facade over the kit's parts: the template model (template-model.ts), the functions' runtime
 * (lambda-runtime.ts), the service integrations (integrations/), executions (execution.ts) and the gateway
 * every call passes (gateway/).
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
  /** The queued path's peers (ingest queue, Step Functions, DynamoDB); undefined with direct ingestion. */
  public queued?: LocalQueuedIngestion;
  /** DynamoDB with every table of the template (idempotency, review); undefined when it has none. */
  public dynamodb?: DynamoDBPeer;
  /** Simulated time of every timer, retry and timeout. */
  public readonly clock: ScaledClock;
  /** Every per-image and bulk execution, in the order they ended. */
  public readonly executions: LocalExecution[] = [];
  /** Execution environments created per function logical ID (cold starts): one per concurrent invocation at most. */
  public readonly coldStarts: Record<string, number>;
  /** Identifies and authorizes every call (see {@link LocalIamOptions}). */
  public readonly gateway: Gateway;

  /** What the runner read from the template. */
  private readonly model: TemplateModel;
  private readonly lambda: LambdaRuntime;
  /** Runs executions; created once the peers run. */
  private executor!: ExecutionRunner;
  /** Clients signed as each principal that calls the peers from the runner (a state machine's role). */
  private clients!: PrincipalClientCache;
  /** The kit's own clients (your uploads): signed as the operator, not a principal of the pipeline. */
  private s3Client!: S3.S3Client;
  /**
   * What the runner itself reads to report on executions (tags after an execution, the delivered audit trail): not a
   * request of the pipeline's. Its user agent names it, so request meters can leave it out.
   */
  private observerClient!: S3.S3Client;
  /** Set when this runner started `dynamodb` itself (direct ingestion); the queued path owns its own. */
  private ownDynamoDB = false;
  private dynamodbClient?: DynamoDBClient;
  /** With `s3EventNotifications`: the processing of the latest creation of each `bucket/key`. */
  private readonly notifications = new Map<string, Promise<LocalExecution>>();

  private constructor(private readonly options: LocalPipelineOptions) {
    if (typeof options.template?.Resources !== 'object' || options.template.Resources === null) {
      throw new Error('LocalPipeline: template has no Resources; pass Template.fromStack(stack).toJSON() of the stack that holds the pipeline');
    }
    const template = options.template as CfnTemplate;
    const iam = options.iam ?? {};
    this.gateway = new Gateway({
      policies: new TemplatePolicies(template, { account: LOCAL_ACCOUNT, boundary: iam.boundary, scps: iam.scps, external: iam.external }),
      enforce: iam.enforce,
    });
    this.model = templateModel(template, { pipelineId: options.pipelineId, checkDefinition: refuseUnfaithful });
    this.definition = this.model.definition;
    this.bulkDefinition = this.model.bulkDefinition;
    // Your workflow steps: refused here, naming the step, when their function or state machine cannot run locally.
    const code = { template, handlersDir: options.handlersDir, assemblyDir: options.assemblyDir, bundledFunctions: options.bundledFunctions };
    refuseUnrunnableSteps(this.model, this.definition, code);
    if (this.bulkDefinition) refuseUnrunnableSteps(this.model, this.bulkDefinition, code);
    this.clock = new ScaledClock(options.timeScale ?? 1);
    this.bucketName = uploadBucketName(this.model);
    const { timeScale, metricsSink } = options;
    this.lambda = new LambdaRuntime({ ...code, gateway: this.gateway, clock: this.clock, timeScale, metricsSink });
    this.coldStarts = this.lambda.coldStarts;
  }

  /**
   * Gives the console's local origin the CORS rule the template gives its API endpoint on the pipeline's bucket (the
   * browser PUTs uploads there). Buckets without a CORS rule in the template (a bucket you bring) are left alone.
   */
  public async allowOrigin(origin: string): Promise<void> {
    for (const [id, r] of Object.entries(this.model.template.Resources)) {
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
    return [...this.model.functions.keys()].filter((id) => id.includes(part));
  }

  /**
   * The environment the runner gives one of the template's functions: its template variables, resolved, and the peers'
   * endpoints. With it a bundle can run in another process against this runner's peers (the bench measures a handler's
   * memory that way).
   */
  public functionEnvironment(logicalId: string): Record<string, string> {
    return this.lambda.environment(this.functionInfo(logicalId));
  }

  /** Every call the gateway denied so far: principal, action, resource, and the statement or policy that decided. */
  public get denials() {
    return this.gateway.denials;
  }

  /**
   * Invokes one of the template's functions as Lambda would (a warm environment, or a new one), with `env` on top of its
   * own environment for environments created from now on. Errors are thrown as the function threw them.
   */
  public async invokeFunction(logicalId: string, event: unknown, env?: Record<string, string>): Promise<unknown> {
    return this.lambda.invokeFunction(this.functionInfo(logicalId), event, env);
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
    const rule = this.model.rules.find((r) => matchesEventPattern(r.pattern, event));
    if (!rule) return { executionArn: '', status: 'NOT_TRIGGERED', alerts: [], events: [], auditRecords: [], states: [], lambdaInvocations: 0, ...noLogs() };
    const input = rule.transformer ? applyInputTransformer(rule.transformer, event) : event;
    // EventBridge delivers only what the target's policies let it; a denied delivery starts nothing on AWS either
    // (it goes to the target's dead-letter queue, which the rule's own policies must let it write).
    const denial = this.gateway.authorize(this.deliveryCalls(rule));
    if (denial) throw new Error(`EventBridge could not deliver the event to the upload rule's target: ${denial.message}`);
    if (rule.queuedFunctionId) return this.deliverToQueue(input);
    return this.startExecution(input);
  }

  /** Starts a per-image execution with the given input, as StartExecution would. */
  public async startExecution(input: unknown): Promise<LocalExecution> {
    return this.executor.run(this.model.stateMachineId, this.definition, input);
  }

  /** Starts a bulk execution (`{ "images": [...] }`); the pipeline must have a bulk mode. */
  public async startBulkExecution(input: unknown): Promise<LocalExecution> {
    if (!this.model.bulkStateMachineId) throw new Error('The pipeline has no bulk state machine: set bulkMode');
    return this.executor.run(this.model.bulkStateMachineId, this.bulkDefinition, input);
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
    return readAuditRecords(this.observerClient, this.auditLocation());
  }

  /** The bucket the audit trail is delivered to (and human review's feedback manifest is written to). */
  public get auditBucketName(): string {
    return this.auditLocation().bucket;
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
    this.clients?.destroy();
    this.dynamodbClient?.destroy();
    await Promise.all([
      this.s3?.close(), this.sagemaker?.close(), this.sns?.close(), this.rekognition?.close(), this.ownDynamoDB ? this.dynamodb?.close() : undefined,
    ]);
    if (deliveryError) throw deliveryError;
  }

  /** Starts the peers (each behind the gateway), points the functions at them, and wires the integrations. */
  private async init() {
    const { template } = this.model;
    const gateway = this.gateway;
    // The upload bucket (maybe imported) and every bucket the template creates (audit, quarantine).
    this.s3 = await startS3({
      buckets: [...new Set([this.bucketName, ...this.model.buckets, ...this.options.extraBuckets ?? []])],
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
    if (this.model.deliveryStreams.length > 0) {
      // Firehose writes each object as the stream's role.
      const streamClients = new Map<string, S3.S3Client>();
      this.firehose = await startFirehose({
        streams: this.model.deliveryStreams,
        s3: (stream) => streamClients.get(stream.name) ?? streamClients.set(stream.name, this.s3.client({
          credentials: stream.roleArn ? gateway.credentialsFor({ kind: 'role', roleArn: stream.roleArn, sessionName: 'Firehose' }) : gateway.operatorCredentials,
        })).get(stream.name)!,
        clock: this.clock,
        maxRecordsPerObject: this.options.firehoseMaxRecordsPerObject,
        gateway,
      });
    }
    const peerEnv = this.lambda.peerEnv;
    Object.assign(peerEnv, {
      AWS_REGION: LOCAL_ACCOUNT.region,
      AWS_ENDPOINT_URL_S3: this.s3.url,
      AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: this.sagemaker.url,
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
      ICS_S3_FORCE_PATH_STYLE: 'true',
      // The dispatch function's circuit breaker waits and stamps on the simulated clock, as SQS and Lambda do here.
      [LOCAL_CLOCK_ENV]: this.clock.handlerEnv(),
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'ERROR',
      // EMF metrics go to stdout as log lines on Lambda; locally they would only flood the console.
      POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
    });
    const topology = this.model.topology;
    if (topology) {
      const dispatch = this.model.functions.get(topology.functionId);
      if (!dispatch) throw new Error(`The ingest queue's event source mapping invokes ${topology.functionId}, which is not in the template`);
      // The SDK sends SQS requests to the queue URL's host: the dispatch function gets the peer's URL for the queue.
      dispatch.env[DispatchEnv.QUEUE_URL] = `${'${'}QUEUE_PEER}`;
      this.queued = await LocalQueuedIngestion.start({
        topology,
        template,
        clock: this.clock,
        invokeDispatch: (event) => this.lambda.invoke(dispatch, event),
        startSync: (req) => this.startSync(req),
        gateway,
      });
      Object.assign(peerEnv, this.queued.env);
      dispatch.env[DispatchEnv.QUEUE_URL] = this.queued.queueUrlForClients;
      this.dynamodb = this.queued.dynamodb;
    } else if (this.model.tables.length > 0) {
      this.dynamodb = await startDynamoDB({ tables: this.model.tables, gateway });
      this.ownDynamoDB = true;
      peerEnv.AWS_ENDPOINT_URL_DYNAMODB = this.dynamodb.url;
    }
    if (this.dynamodb) this.dynamodbClient = this.dynamodb.client();
    if (this.options.metricsSink) peerEnv.POWERTOOLS_METRICS_DISABLED = 'false';
    this.clients = new PrincipalClientCache(gateway, this);
    this.executor = new ExecutionRunner({
      template,
      gateway,
      timeScale: this.options.timeScale,
      retryDelayMs: this.options.retryDelayMs,
      sns: this.sns,
      records: this,
      integrations: (principal) => this.integrationContext(principal),
      observer: this.observerClient,
      executions: this.executions,
    });
  }

  /** What the integrations of a state machine calling as `principal` work with. */
  private integrationContext(principal: CallPrincipal): IntegrationContext {
    return {
      principal,
      clients: this.clients.for(principal),
      gateway: this.gateway,
      model: this.model,
      records: this,
      firehose: this.firehose,
      failingEventBuses: this.failingEventBuses,
      invoke: (fn, payload) => this.lambda.invoke(fn, payload),
      runExpress: (machine, input, executionArn) =>
        this.executor.run(machine.logicalId, stepMachineDefinition(this.model, machine), input, executionArn, false),
    };
  }

  private functionInfo(logicalId: string) {
    const fn = this.model.functions.get(logicalId);
    if (!fn) throw new Error(`No function ${logicalId} in the template`);
    return fn;
  }

  /** An object creation S3 notified (with `s3EventNotifications`): its event goes through the upload rule like any. */
  private notified(c: S3ObjectCreated): void {
    const event = objectCreatedEvent(c.bucket, c.key, c.size, c.etag, { reason: c.reason, time: new Date(this.clock.now()) });
    const processed = this.putEvent(event);
    processed.catch(() => undefined);
    this.notifications.set(`${c.bucket}/${c.key}`, processed);
  }

  /** The calls that deliver an upload rule's event to its target (and, queued, to the dispatch function). */
  private deliveryCalls(rule: UploadRule): Call[] {
    const { template } = this.model;
    const calls = ruleTargetCalls(template, this.gateway.policies, rule.ruleId, rule.target).target;
    const fn = rule.queuedFunctionId ? this.model.functions.get(rule.queuedFunctionId) : undefined;
    if (!fn) return calls;
    const queueArn = String(resolveIntrinsics(rule.target.Arn, template));
    return [...calls, ...eventSourceMappingCalls(this.gateway.policies, functionPrincipal(template, fn), queueArn)];
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
    // Deleted after a deferred attempt (e.g. a failed circuit breaker probe): a later receive found the upload done
    // by another delivery, with no execution of its own.
    const deduplicated = end === 'DELETED' && (!last || last.error === DEFERRED_ERROR);
    const status = deduplicated ? 'DEDUPLICATED' : last ? last.status : end === 'DEAD_LETTERED' ? 'DEAD_LETTERED' : 'DEDUPLICATED';
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
      tags: last ? last.tags : await objectTags(this.observerClient, { bucket: event?.detail?.bucket?.name, key: event?.detail?.object?.key }),
      attempts,
    };
  }

  /** StartSyncExecution from the dispatch function: runs the named per-image state machine in this runner. */
  private async startSync(req: ExecutionRequest): Promise<ExecutionResult> {
    const startDate = this.clock.now();
    if (req.stateMachineArn !== resolveIntrinsics({ Ref: this.model.stateMachineId }, this.model.template)) {
      throw Object.assign(new Error(`State Machine Does Not Exist: '${req.stateMachineArn}'`), { name: 'StateMachineDoesNotExist', code: 'StateMachineDoesNotExist' });
    }
    const run = await this.executor.run(this.model.stateMachineId, this.definition, JSON.parse(req.input), req.executionArn);
    return {
      executionArn: run.executionArn,
      status: run.status as ExecutionResult['status'],
      ...(run.status === 'SUCCEEDED' ? { output: JSON.stringify(run.output ?? null) } : { error: run.error, cause: run.cause }),
      startDate,
      stopDate: this.clock.now(),
    };
  }

  /** Where the audit records are: the delivery stream's bucket and prefix, else the audit putObject state's. */
  private auditLocation(): AuditLocation {
    return auditLocation(this.definition, this.model.deliveryStreams.find((s) => this.firehose?.streams.includes(s)));
  }
}

/** An upload that started no execution logs nothing. */
function noLogs(): Pick<LocalExecution, 'logRecords' | 'logBytes' | 'history'> {
  return { logRecords: [], logBytes: 0, history: [] };
}
