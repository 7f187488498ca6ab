import { Duration, Size } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { DEFAULT_ALERT_OUTCOMES } from './actions';
import { validateAuditTrail } from './audit/validation';
import { BulkMode } from './bulk-mode';
import { ClassifierConfig, ClassifierKind } from './classifier';
import { validateFunctionLogging } from './functions';
import { Ingestion, IngestionType } from './ingestion/ingestion';
import { defaultIngestion, resolveMaxConcurrency, validateIngestion } from './ingestion/validation';
import { Outcome } from './outcomes';
import type { ImageClassificationPipelineProps } from './pipeline';
import { occurringOutcomes, validatePipelineProps } from './pipeline-validation';
import { validateReview } from './review/validation';
import { DEFAULT_INPUT_SUFFIXES } from './workflow/key-filter';
import { WorkflowStepConfig } from './workflow/steps';

/**
 * The classify function's memory. It buffers one image and waits for the endpoint, and Lambda bills its memory for the
 * wait: 256 MB costs half of 512 for each second of model latency. Its peak with the largest image (6 MiB) is about
 * 120 MiB (`npm run bench`, figure 3).
 */
export const DEFAULT_HANDLER_MEMORY_MB = 256;

/** The pipeline's props with every default applied and the classifier bound. */
export interface PipelineSettings {
  readonly endpoint: ClassifierConfig;
  readonly usesFunction: boolean;
  readonly classLabels: string[];
  readonly flaggedLabels: string[];
  readonly confidenceThreshold: number;
  readonly inputSuffixes: string[];
  readonly workflowType: sfn.StateMachineType;
  readonly handlerTimeout: Duration;
  readonly handlerMemorySize: number;
  readonly maxImageSize: Size;
  readonly topK: number;
  readonly bulkMode: BulkMode;
  readonly ingestion: Ingestion;
  /** Queued ingestion's cap (meaningless with direct ingestion). */
  readonly maxConcurrency: number;
  readonly tagObjects: boolean;
  /** The state machines' log level: ERROR with queued ingestion (its metrics come from the dispatch function), ALL with direct. */
  readonly logLevel: sfn.LogLevel;
  /** Your own steps, bound. */
  readonly steps: WorkflowStepConfig[];
  /** Outcomes that go to human review; undefined without `review`. */
  readonly reviewOutcomes?: Outcome[];
}

/**
 * Applies the defaults, binds the classifier and validates everything at once: every problem of the props,
 * the classifier's options and the ingestion options goes into one error.
 */
export function resolveSettings(scope: Construct, props: ImageClassificationPipelineProps): PipelineSettings {
  const inputSuffixes = props.inputSuffixes ?? DEFAULT_INPUT_SUFFIXES;
  const workflowType = props.workflowType ?? sfn.StateMachineType.EXPRESS;
  const handlerTimeout = props.handlerTimeout ?? Duration.seconds(30);
  const handlerMemorySize = props.handlerMemorySize ?? DEFAULT_HANDLER_MEMORY_MB;
  const maxImageSize = props.maxImageSize ?? Size.mebibytes(6);
  const topK = props.topK ?? 5;
  const bulkMode = props.bulkMode ?? BulkMode.none();
  const confidenceThreshold = props.confidenceThreshold ?? 0.8;
  const ingestion = props.ingestion ?? defaultIngestion(workflowType);
  const bringsTopics = props.alertTopics !== undefined || props.alerts !== undefined;
  const auditEnabled = props.auditTrail?.enabled ?? true;
  const steps = (props.steps ?? []).map((step) => step.bind());

  const binding = props.classifier.bind(scope, { confidenceThreshold });
  const usesFunction = binding.config.kind === ClassifierKind.SAGEMAKER_ENDPOINT;
  const classLabels = props.classLabels ?? binding.config.classLabels;
  const flaggedLabels = props.flaggedLabels ?? binding.config.defaultFlaggedLabels ?? [];
  const classifierConcurrency = {
    limit: binding.config.maxConcurrency,
    fallback: binding.config.defaultConcurrency,
    source: 'the ClassifierEndpoint\'s hosting',
  };
  const problems = [
    ...binding.problems,
    ...validatePipelineProps({
      classLabels,
      classLabelsRequired: usesFunction,
      flaggedLabels,
      confidenceThreshold,
      inputPrefix: props.inputPrefix,
      inputSuffixes,
      handlerMemorySize,
      handlerTimeout,
      maxImageSize,
      topK,
      workflowType,
      alertRouteOutcomes: (props.alerts ?? []).map((r) => r.outcomes ?? DEFAULT_ALERT_OUTCOMES),
      alertEmailsWithOwnTopics: (props.alertEmails?.length ?? 0) > 0 && bringsTopics,
      quarantine: props.quarantine && {
        outcomes: props.quarantine.outcomes,
        prefix: props.quarantine.prefix,
        sameBucket: props.quarantine.bucket === undefined || props.quarantine.bucket === props.bucket,
      },
      auditPrefix: props.auditTrail?.prefix ?? 'results/',
      auditEnabled,
      bulkMode,
      steps,
    }),
    ...validateIngestion(ingestion, { workflowType, classifier: classifierConcurrency }),
    ...validateAuditTrail(props.auditTrail, props.auditTrail?.prefix ?? 'results/'),
    ...validateFunctionLogging(props.functionLogging),
    ...validateReview({
      review: props.review,
      console: props.console,
      occurring: occurringOutcomes({ classLabels, flaggedLabels, confidenceThreshold, steps }),
      classLabels,
      usesFunction,
      quarantine: props.quarantine !== undefined,
      auditEnabled,
      bringsBucket: props.bucket !== undefined,
    }),
  ];
  if (problems.length > 0) {
    throw new Error(`Invalid ImageClassificationPipeline props at ${scope.node.path}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  return {
    endpoint: binding.config,
    usesFunction,
    classLabels: classLabels ?? [],
    flaggedLabels,
    confidenceThreshold,
    inputSuffixes,
    workflowType,
    handlerTimeout,
    handlerMemorySize,
    maxImageSize,
    topK,
    bulkMode,
    ingestion,
    maxConcurrency: ingestion.type === IngestionType.QUEUED ? resolveMaxConcurrency(ingestion, classifierConcurrency) : 0,
    tagObjects: props.tagObjects ?? true,
    logLevel: props.logLevel ?? (ingestion.type === IngestionType.QUEUED ? sfn.LogLevel.ERROR : sfn.LogLevel.ALL),
    steps,
    reviewOutcomes: props.review ? (props.review.outcomes ?? [Outcome.LOW_CONFIDENCE]) : undefined,
  };
}
