import { IntegrationContext, TaskHandler } from './context';
import { dynamodbTask } from './dynamodb';
import { putEventsTask } from './events';
import { firehosePutRecordTask } from './firehose';
import { lambdaInvokeTask } from './lambda';
import { rekognitionTask } from './rekognition';
import { s3SdkTask } from './s3';
import { startSyncExecutionTask } from './sfn';
import { snsPublishTask } from './sns';
import { isLambdaTask } from '../template-model';

/** Service integrations the runner executes, against the peers or in-process (besides functions by ARN). */
export const SUPPORTED_INTEGRATIONS = [
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

/**
 * The state's integration, called as `ctx.principal` (the state machine's role): through the peers, whose gateway
 * authorizes each request, or in the runner (Lambda, Step Functions, EventBridge), authorized there the same way.
 */
export function taskHandler(state: any, ctx: IntegrationContext): TaskHandler {
  const resource: string = state.Resource;
  if (isLambdaTask(state)) return lambdaInvokeTask(state, ctx);
  if (resource === 'arn:aws:states:::aws-sdk:sfn:startSyncExecution') return startSyncExecutionTask(ctx);
  if (resource === 'arn:aws:states:::sns:publish') return snsPublishTask(ctx);
  if (resource === 'arn:aws:states:::events:putEvents') return putEventsTask(ctx);
  if (resource === 'arn:aws:states:::aws-sdk:firehose:putRecord') return firehosePutRecordTask(ctx);
  const dynamo = /^arn:aws:states:::dynamodb:(putItem|getItem|updateItem)$/.exec(resource);
  if (dynamo) return dynamodbTask(dynamo[1], ctx);
  const s3 = /^arn:aws:states:::aws-sdk:s3:(\w+)$/.exec(resource);
  if (s3) return s3SdkTask(s3[1], ctx);
  const rekognition = /^arn:aws:states:::aws-sdk:rekognition:(detectLabels|detectModerationLabels)$/.exec(resource);
  if (rekognition) return rekognitionTask(rekognition[1] as 'detectLabels' | 'detectModerationLabels', ctx);
  throw new Error(`unreachable: ${resource}`);
}
