import { ErrorName } from './errors';

/**
 * CloudWatch embedded metric format (EMF) metrics of the classify function, written to its log by Powertools
 * (no PutMetricData call, no permission). The construct and the handler share these names; this module imports
 * no Powertools code, so the construct can import it (the handler passes its Powertools `Metrics` in).
 *
 * Outcomes are decided by the workflow after the classify function returns (an action can still turn an image
 * into ERROR): with queued ingestion the dispatch function publishes them from each execution's end (`Images` by
 * `Outcome`, `AlertsPublished`); with direct ingestion they come from the state machine log's metric filters.
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

/** The part of Powertools' `Metrics` the publishers use. */
export interface MetricsSink {
  addMetric(name: string, unit: 'Count' | 'Milliseconds' | 'Bytes' | 'None', value: number): unknown;
  addDimension(name: string, value: string): unknown;
  publishStoredMetrics(): void;
}

/** The default-dimension part of Powertools' `Metrics`. */
export interface ConfigurableMetrics extends MetricsSink {
  clearDefaultDimensions(): void;
  setDefaultDimensions(dimensions: Record<string, string>): void;
}

/** Options for Powertools' `Metrics` constructor. */
export function metricsOptions(env: Record<string, string | undefined>) {
  return { namespace: env[MetricsEnv.NAMESPACE] || DEFAULT_METRICS_NAMESPACE, serviceName: 'image-classification-pipeline' };
}

/**
 * Makes `Pipeline` the only default dimension: Powertools adds `service` by default, and one dimension that
 * names the pipeline identifies where a metric comes from.
 */
export function setPipelineDimension<T extends ConfigurableMetrics>(metrics: T, env: Record<string, string | undefined>): T {
  metrics.clearDefaultDimensions();
  metrics.setDefaultDimensions({ [EmfDimension.PIPELINE]: env[MetricsEnv.PIPELINE] || 'unknown' });
  return metrics;
}

/** What the metrics need of a classification. */
export interface ClassifiedImage {
  readonly label: string;
  readonly confidence: number;
  readonly modelLatencyMs: number;
  readonly sizeBytes: number;
}

/**
 * Publishes the metrics of one classified image as two EMF records (Powertools applies one dimension set per
 * record): latency and size by `Pipeline`; count and confidence by `Pipeline` and `Label`.
 */
export function publishClassified(metrics: MetricsSink, image: ClassifiedImage): void {
  metrics.addMetric(EmfMetric.MODEL_LATENCY, 'Milliseconds', image.modelLatencyMs);
  metrics.addMetric(EmfMetric.IMAGE_BYTES, 'Bytes', image.sizeBytes);
  metrics.publishStoredMetrics();
  metrics.addDimension(EmfDimension.LABEL, image.label);
  metrics.addMetric(EmfMetric.IMAGES_CLASSIFIED, 'Count', 1);
  metrics.addMetric(EmfMetric.CONFIDENCE, 'None', image.confidence);
  metrics.publishStoredMetrics();
}

/** Publishes an image the function could not classify, by error name. */
export function publishError(metrics: MetricsSink, err: unknown): void {
  metrics.addDimension(EmfDimension.ERROR_NAME, errorDimension(err));
  metrics.addMetric(EmfMetric.CLASSIFICATION_ERRORS, 'Count', 1);
  metrics.publishStoredMetrics();
}
