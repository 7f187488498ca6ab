import { PolicyDocument } from './iam/model';
import { ExternalPolicies } from './iam/template-policies';
import { ModelBackend } from './models/model-backend';
import { RekognitionModel } from './peers/rekognition';
import { EndpointCapacity } from './peers/sagemaker-runtime';
import { CfnTemplate } from './template-resolver';

/** What a {@link LocalPipeline} runs, and how. */
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
