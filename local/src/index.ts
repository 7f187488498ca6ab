/**
 * cdk-image-classification-pipeline-local: the testing kit. Runs a synthesized ImageClassificationPipeline on
 * this machine, with the library's bundled handlers and local peers for the AWS services it calls.
 */
export { LocalPipeline, HANDLERS_DIR } from './runner';
export type { LocalPipelineOptions, LocalExecution, LocalEvent, LocalObjectWrite, LocalIamOptions } from './runner';
export { Gateway } from './gateway/gateway';
export type { AuthorizationRecord, Denial } from './gateway/gateway';
export { iamReport } from './iam/report';
export type { IamReport, IamReportOptions } from './iam/report';
export type { PlannedCall } from './iam/plan';
export { TemplatePolicies } from './iam/template-policies';
export type { ExternalPolicies, Encryption, TemplatePoliciesOptions } from './iam/template-policies';
export type { AuthorizationRequest, CallPrincipal, Decision, PolicyDocument, PolicyStatement } from './iam/model';
export {
  cloudWatchLogBytes, executionHistory, loggedAtLevel, loggingConfigurationOf, recordTaskAttempts, renderLogRecords, LOG_EVENT_OVERHEAD_BYTES,
  LOG_PAYLOAD_LIMIT_BYTES,
} from './execution-log';
export type { ExecutionHistoryEvent, StepFunctionsLogging, StepFunctionsLogLevel, StepFunctionsLogRecord, TaskAttempt, TaskAttempts } from './execution-log';
export { LOCAL_ACCOUNT } from './template-resolver';
export { LocalConsole, LOCAL_REVIEWER } from './console';
export type { LocalConsoleOptions } from './console';
export type { CognitoPeer, CognitoUserSeed } from './peers/cognito';
export type { CloudWatchPeer } from './peers/cloudwatch';
export type { HttpApiPeer } from './peers/http-api';
export type { CfnTemplate, LocalAccount } from './template-resolver';
export { objectCreatedEvent } from './event-pattern';
export { ScaledClock } from './clock';

// Model backends: what answers the pipeline's SageMaker endpoint locally.
export { ModelInvocationError, predictionOutput } from './models/model-backend';
export type { ModelBackend, ModelOutput } from './models/model-backend';
export { functionModel } from './models/function-model';
export type { ModelFunction } from './models/function-model';
export { onnxModel } from './models/onnx';
export type { OnnxModelOptions } from './models/onnx';
export { tfjsGraphModel } from './models/tfjs-graph';
export type { TfjsGraphModelOptions } from './models/tfjs-graph';
export { proxyModel } from './models/proxy';
export type { ProxyModelOptions } from './models/proxy';
export { cocoVehiclesModel } from './models/coco-vehicles';
export type { CocoVehiclesOptions } from './models/coco-vehicles';
export { BANK_SECURITY_COCO_MAPPING, BANK_SECURITY_LABELS } from './models/coco-mapping';
export type { CocoLabelMapping } from './models/coco-mapping';
export type { ImageInputOptions } from './models/image-input';

// The peers' types, as tests reach them through a LocalPipeline (local.s3, local.sagemaker, local.sns, ...).
export type { S3Peer } from './peers/s3';
export type { SageMakerRuntimePeer, SageMakerInvocation, SageMakerFault, EndpointCapacity } from './peers/sagemaker-runtime';
export type { RekognitionPeer, RekognitionModel, RekognitionFault } from './peers/rekognition';
export type { SnsSink, SnsPublished, SnsMessageAttribute } from './peers/sns';
export { LocalQueue } from './peers/sqs';
export type { SqsPeer, LocalReceivedMessage, LocalMessageSnapshot } from './peers/sqs';
export type { DynamoDBPeer } from './peers/dynamodb';
export type { FirehosePeer, FirehoseDelivery, FirehoseDeliveryError, LocalDeliveryStream } from './peers/firehose';
export type { ExecutionRequest, ExecutionResult } from './peers/stepfunctions';
export { LocalQueuedIngestion } from './queued-ingestion';

// Reports: the demo's table and HTML report, for any set of executions.
export { formatColumns, formatTable, renderHtmlReport, renderReport, executionCard } from './report';
export type { ReportRow, ReportCard, ReportOptions } from './report';
export { runDemo, demoTemplate, DEMO_IMAGES_DIR } from './demo';
export type { DemoOptions } from './demo';

// Capture report: SageMaker data-capture (Model Monitor) files read as the pipeline would score them.
export {
  captureCard, captureLocation, decodeCaptureData, formatCaptureSummary, listCaptureFiles, readCaptureFiles, readCaptureLine,
  renderCaptureReport, runCaptureReport, scoringFromLabels, scoringFromTemplate,
} from './capture-report';
export type { CaptureFile, CaptureReport, CaptureReportOptions, CaptureRow, CaptureScoring, SkippedLine } from './capture-report';
