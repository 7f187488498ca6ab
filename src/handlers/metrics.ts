import { ErrorName } from './errors';

/**
 * CloudWatch embedded metric format (EMF) metrics of the handlers, written to their logs (no PutMetricData call, no
 * permission), one record per image. The construct and the handlers share these names; this module imports no SDK, so
 * the construct can import it.
 *
 * Who writes them: with queued ingestion the dispatch function, from each execution's end, in one record per image
 * (the classify function writes only its errors, every attempt's, so an outage shows while images wait); for bulk
 * items and with direct ingestion the classify function writes the label, latency,
 * size and error metrics, and outcomes come from the state machine log's metric filters (outcomes are decided after
 * the classify function returns, and an action can still turn an image into ERROR).
 */
export const EmfMetric = {
  /** Count of classified images, by `Label` (the top label). */
  IMAGES_CLASSIFIED: 'ImagesClassified',
  /** The top label's score (0 to 1), by `Label`. */
  CONFIDENCE: 'Confidence',
  /** Milliseconds of the endpoint call. */
  MODEL_LATENCY: 'ModelLatency',
  /** Size of the classified image in bytes. */
  IMAGE_BYTES: 'ImageBytes',
  /** Count of images the function could not classify, by `ErrorName`. */
  CLASSIFICATION_ERRORS: 'ClassificationErrors',
  /** Count of images by `Outcome` (dispatch function, queued ingestion). */
  IMAGES: 'Images',
  /** Alerts the workflow published, one per topic (dispatch function, queued ingestion). */
  ALERTS_PUBLISHED: 'AlertsPublished',
} as const;

/** Dimensions of the EMF metrics. Every metric has `Pipeline`. */
export const EmfDimension = {
  /** Which pipeline (one namespace serves every pipeline in the account): `<stack>-<construct path>-<hash>`. */
  PIPELINE: 'Pipeline',
  LABEL: 'Label',
  /** One of the handler's stable error names, or `Unexpected`. */
  ERROR_NAME: 'ErrorName',
  /** FLAGGED, ACCEPTED, LOW_CONFIDENCE or ERROR. */
  OUTCOME: 'Outcome',
} as const;

/** Environment the construct sets for the metrics. */
export const MetricsEnv = {
  /** Powertools' own variable for the namespace. */
  NAMESPACE: 'POWERTOOLS_METRICS_NAMESPACE',
  PIPELINE: 'ICS_METRICS_PIPELINE',
} as const;

/** Namespace when the construct sets none. */
export const DEFAULT_METRICS_NAMESPACE = 'ImageClassificationPipeline';

const KNOWN_ERRORS = new Set<string>(Object.values(ErrorName));

/** The `ErrorName` dimension value: a stable error name, never an unbounded one. */
export function errorDimension(err: unknown): string {
  const name = (err as Error | undefined)?.name;
  return name && KNOWN_ERRORS.has(name) ? name : 'Unexpected';
}

type Unit = 'Count' | 'Milliseconds' | 'Bytes' | 'None';

/**
 * One EMF log record holding metrics of several dimension sets: EMF lets a record carry one directive per dimension set
 * (all sharing the record's root members), so the metrics of one image cost one CloudWatch Logs event instead of one per
 * dimension set. Every directive has the `Pipeline` dimension; a record names each other dimension once (one label,
 * one outcome), which is what one image has. A metric added twice is summed.
 */
export class EmfRecord {
  private readonly directives = new Map<string, { dimensions: string[]; metrics: Array<{ Name: string; Unit: Unit }> }>();
  private readonly members: Record<string, string | number> = {};

  constructor(private readonly namespace: string, private readonly pipeline: string) {}

  /** Adds a metric under the `Pipeline` dimension and the given ones. */
  public add(name: string, unit: Unit, value: number, dimensions: Record<string, string> = {}): this {
    const names = [EmfDimension.PIPELINE as string, ...Object.keys(dimensions)];
    const id = names.join('\u0000');
    const directive = this.directives.get(id) ?? { dimensions: names, metrics: [] };
    this.directives.set(id, directive);
    for (const [k, v] of Object.entries(dimensions)) {
      const held = this.members[k];
      if (held !== undefined && held !== v) throw new Error(`EMF record already has ${k}=${held}; cannot add ${k}=${v}`);
      this.members[k] = v;
    }
    if (directive.metrics.some((m) => m.Name === name)) {
      this.members[name] = Number(this.members[name]) + value;
    } else {
      if (this.members[name] !== undefined) throw new Error(`EMF metric ${name} is already in this record under other dimensions`);
      directive.metrics.push({ Name: name, Unit: unit });
      this.members[name] = value;
    }
    return this;
  }

  public get isEmpty(): boolean {
    return this.directives.size === 0;
  }

  /** The record as one line of JSON (the CloudWatch embedded metric format). */
  public toJSON(timestamp = Date.now()): Record<string, unknown> {
    return {
      _aws: {
        Timestamp: timestamp,
        CloudWatchMetrics: [...this.directives.values()].map((d) => ({
          Namespace: this.namespace, Dimensions: [d.dimensions], Metrics: d.metrics,
        })),
      },
      [EmfDimension.PIPELINE]: this.pipeline,
      ...this.members,
    };
  }
}

/** Where a handler's EMF records go: namespace and pipeline from the environment the construct sets. */
export interface EmfSink {
  /** A new, empty record for this pipeline. */
  record(): EmfRecord;
  /** Writes the record as one log line (nothing for an empty record, or when metrics are disabled). */
  emit(record: EmfRecord): void;
}

/**
 * The handlers' EMF sink. Lines go straight to stdout, not through `console`: with Lambda's JSON log format the
 * runtime wraps console output in its own JSON object, and CloudWatch would no longer see an EMF record. Lambda files a
 * line without a `level` field as INFO, so an application log level above INFO would drop these records (the
 * construct refuses one). `POWERTOOLS_METRICS_DISABLED=true` turns them off (the local runner's quiet mode).
 */
export function emfSink(env: Record<string, string | undefined>, write: (line: string) => void = (l) => process.stdout.write(l)): EmfSink {
  const namespace = env[MetricsEnv.NAMESPACE] || DEFAULT_METRICS_NAMESPACE;
  const pipeline = env[MetricsEnv.PIPELINE] || 'unknown';
  const disabled = env.POWERTOOLS_METRICS_DISABLED === 'true';
  return {
    record: () => new EmfRecord(namespace, pipeline),
    emit: (record) => {
      if (!disabled && !record.isEmpty) write(`${JSON.stringify(record.toJSON())}\n`);
    },
  };
}

/** What the metrics need of a classification. */
export interface ClassifiedImage {
  readonly label: string;
  readonly confidence: number;
  readonly modelLatencyMs: number;
  readonly sizeBytes: number;
}

/** The metrics of one classified image, in one record: latency and size by `Pipeline`; count and confidence by `Label` too. */
export function classifiedRecord(record: EmfRecord, image: ClassifiedImage): EmfRecord {
  return record
    .add(EmfMetric.MODEL_LATENCY, 'Milliseconds', image.modelLatencyMs)
    .add(EmfMetric.IMAGE_BYTES, 'Bytes', image.sizeBytes)
    .add(EmfMetric.IMAGES_CLASSIFIED, 'Count', 1, { [EmfDimension.LABEL]: image.label })
    .add(EmfMetric.CONFIDENCE, 'None', image.confidence, { [EmfDimension.LABEL]: image.label });
}

/** An image the function could not classify, by error name. */
export function errorRecord(record: EmfRecord, err: unknown): EmfRecord {
  return record.add(EmfMetric.CLASSIFICATION_ERRORS, 'Count', 1, { [EmfDimension.ERROR_NAME]: errorDimension(err) });
}
