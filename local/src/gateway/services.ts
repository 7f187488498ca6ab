import { GatewayRequest, ServiceBinding } from './gateway';
import {
  call, Call, dynamodbCall, firehosePutRecordCall, invokeEndpointCall, putEventsCall, rekognitionCalls, s3Calls, S3Operation, snsPublishCalls,
  SqsOperation, sqsCalls, startExecutionCall,
} from '../iam/calls';
import { CallPrincipal } from '../iam/model';
import { COGNITO_UNSIGNED_OPERATIONS } from '../iam/refusals';
import { TemplatePolicies } from '../iam/template-policies';

/**
 * What each peer's requests do, for the gateway: the operation a request names (its method and path for S3 and
 * SageMaker Runtime, `X-Amz-Target` for the JSON protocols, `Action` for the query protocol) and the calls it makes,
 * built by the functions of iam/calls.ts that `ics-local iam` lists the pipeline's calls with.
 */

const json = (req: GatewayRequest): any => {
  try {
    return JSON.parse(req.body?.toString('utf8') || '{}');
  } catch {
    return {};
  }
};
const target = (req: GatewayRequest) => String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '';

/** S3 (REST, path-style URLs as the kit's clients send them: `/<bucket>/<key>`). */
export const S3_BINDING: ServiceBinding = {
  wire: 's3',
  signingName: 's3',
  bufferBody: false,
  describe: (req, principal, policies) => {
    const [, bucket, ...rest] = req.url.pathname.split('/');
    if (!bucket) return [call(policies.account, principal, 's3:ListAllMyBuckets', '*', 'S3 ListBuckets')];
    // `/bucket` and `/bucket/` (how SDKs address a bucket's subresources) name no object.
    const key = rest.length > 0 && rest.join('/') !== '' ? decodeURIComponent(rest.join('/')) : undefined;
    const q = req.url.searchParams;
    const versionId = q.get('versionId') ?? undefined;
    const a = policies.account;
    const bucketCall = (action: string) => [call(a, principal, action, `arn:${a.partition}:s3:::${bucket}`, `S3 ${action.split(':')[1]}`)];
    const m = req.method;
    if (key === undefined) {
      const listing = s3RequestContext(req);
      if (q.has('versions')) return s3Calls(policies, principal, 'ListObjectVersions', { bucket, context: listing });
      if (q.has('cors')) return bucketCall(m === 'PUT' ? 's3:PutBucketCORS' : 's3:GetBucketCORS');
      if (q.has('location')) return bucketCall('s3:GetBucketLocation');
      if (q.has('delete')) return [call(a, principal, 's3:DeleteObject', `arn:${a.partition}:s3:::${bucket}/*`, 'S3 DeleteObjects')];
      if (m === 'GET' || m === 'HEAD') return s3Calls(policies, principal, 'ListObjectsV2', { bucket, context: listing });
      return bucketCall(m === 'PUT' ? 's3:CreateBucket' : m === 'DELETE' ? 's3:DeleteBucket' : 's3:ListBucket');
    }
    const context = s3RequestContext(req);
    const one = (op: S3Operation, extra: object = {}) => s3Calls(policies, principal, op, { bucket, key, versionId, context, ...extra });
    const kmsKeyArn = header(req, 'x-amz-server-side-encryption-aws-kms-key-id');
    if (q.has('tagging')) return one(m === 'PUT' ? 'PutObjectTagging' : 'GetObjectTagging');
    if (m === 'GET') return q.has('uploadId') ? [call(a, principal, 's3:ListMultipartUploadParts', `arn:${a.partition}:s3:::${bucket}/${key}`, 'S3 ListParts')] : one('GetObject');
    if (m === 'HEAD') return one('HeadObject');
    if (m === 'DELETE') return q.has('uploadId') ? [call(a, principal, 's3:AbortMultipartUpload', `arn:${a.partition}:s3:::${bucket}/${key}`, 'S3 AbortMultipartUpload')] : one('DeleteObject');
    const source = header(req, 'x-amz-copy-source');
    if (m === 'PUT' && source !== undefined && !q.has('partNumber')) {
      const decoded = decodeURIComponent(source.replace(/^\//, ''));
      const [path, query] = decoded.split('?versionId=');
      const [srcBucket, ...srcKey] = path.split('/');
      const replaceTags = String(header(req, 'x-amz-tagging-directive') ?? '').toUpperCase() === 'REPLACE';
      return one('CopyObject', { source: { bucket: srcBucket, key: srcKey.join('/'), versionId: query }, tagging: replaceTags, kmsKeyArn, versionId: undefined });
    }
    // PutObject, UploadPart, CreateMultipartUpload, CompleteMultipartUpload: writes of the object.
    return one('PutObject', { tagging: header(req, 'x-amz-tagging') !== undefined, kmsKeyArn, versionId: undefined });
  },
};

/** SNS (query protocol, or AWS JSON 1.0 should the client switch). */
export const SNS_BINDING: ServiceBinding = {
  wire: 'sns',
  signingName: 'sns',
  bufferBody: true,
  // SNS API Reference, Publish, Errors: KMSAccessDenied, a client (400) error of the SNS model.
  kmsDenial: { code: 'KMSAccessDenied', status: 400 },
  describe: (req, principal, policies) => {
    const params = req.headers['x-amz-target'] ? json(req) : Object.fromEntries(new URLSearchParams(req.body?.toString('utf8') ?? ''));
    const action = req.headers['x-amz-target'] ? target(req) : params.Action;
    const topic = params.TopicArn ?? params.TargetArn ?? '';
    if (action === 'Publish') return snsPublishCalls(policies, principal, topic);
    return [call(policies.account, principal, `sns:${action}`, topic || '*', `SNS ${action}`)];
  },
};

const SQS_ACTIONS: Record<string, SqsOperation> = {
  SendMessage: 'SendMessage',
  SendMessageBatch: 'SendMessage',
  ReceiveMessage: 'ReceiveMessage',
  DeleteMessage: 'DeleteMessage',
  DeleteMessageBatch: 'DeleteMessage',
  ChangeMessageVisibility: 'ChangeMessageVisibility',
  ChangeMessageVisibilityBatch: 'ChangeMessageVisibility',
  GetQueueAttributes: 'GetQueueAttributes',
};

/** SQS (AWS JSON 1.0): a queue URL's last two segments are its account and name. */
export const SQS_BINDING: ServiceBinding = {
  wire: 'sqs',
  signingName: 'sqs',
  bufferBody: true,
  // As AWS answers it (AWS Knowledge Center, "Troubleshoot AccessDenied errors on Amazon SQS API calls": "An error
  // occurred (KMS.AccessDeniedException) when calling the SendMessage operation: User: ... is not authorized to
  // perform: kms:GenerateDataKey ..."), a client error.
  kmsDenial: { code: 'KMS.AccessDeniedException', status: 400 },
  describe: (req, principal, policies) => {
    const a = policies.account;
    const op = target(req);
    const params = json(req);
    const name = String(params.QueueUrl ?? params.QueueName ?? params.SourceArn ?? '').split(/[/:]/).pop() ?? '';
    const queueArn = `arn:${a.partition}:sqs:${a.region}:${a.account}:${name}`;
    if (SQS_ACTIONS[op]) return sqsCalls(policies, principal, SQS_ACTIONS[op], queueArn);
    return [call(a, principal, `sqs:${op}`, op === 'ListQueues' ? '*' : queueArn, `SQS ${op}`)];
  },
};

/** DynamoDB (AWS JSON 1.0): each table a request names, and the index it queries. */
export const DYNAMODB_BINDING: ServiceBinding = {
  wire: 'dynamodb',
  signingName: 'dynamodb',
  bufferBody: true,
  describe: (req, principal, policies) => {
    const op = target(req);
    const p = json(req);
    const tables: string[] = p.TableName ? [p.TableName]
      : p.RequestItems ? Object.keys(p.RequestItems)
        : (p.TransactItems ?? []).flatMap((t: any) => Object.values(t).map((x: any) => x?.TableName)).filter(Boolean);
    if (tables.length === 0) return [call(policies.account, principal, `dynamodb:${op}`, '*', `DynamoDB ${op}`)];
    return [...new Set(tables)].map((t) => dynamodbCall(policies, principal, op, t, p.IndexName));
  },
};

/** SageMaker Runtime (REST-JSON): `POST /endpoints/<name>/invocations`. */
export const SAGEMAKER_RUNTIME_BINDING: ServiceBinding = {
  wire: 'sagemaker-runtime',
  signingName: 'sagemaker',
  bufferBody: true,
  describe: (req, principal, policies) => {
    const name = /^\/endpoints\/([^/]+)\//.exec(req.url.pathname)?.[1];
    return name ? [invokeEndpointCall(policies, principal, decodeURIComponent(name))] : [];
  },
};

/** Step Functions (AWS JSON 1.0). */
export const STEP_FUNCTIONS_BINDING: ServiceBinding = {
  wire: 'states',
  signingName: 'states',
  bufferBody: true,
  describe: (req, principal, policies) => {
    const op = target(req);
    const p = json(req);
    if (op === 'StartSyncExecution' || op === 'StartExecution') return [startExecutionCall(policies, principal, String(p.stateMachineArn ?? ''), op === 'StartSyncExecution')];
    return [call(policies.account, principal, `states:${op}`, String(p.executionArn ?? p.stateMachineArn ?? '*'), `Step Functions ${op}`)];
  },
};

/** Firehose (AWS JSON 1.1). */
export const FIREHOSE_BINDING: ServiceBinding = {
  wire: 'firehose',
  signingName: 'firehose',
  bufferBody: true,
  describe: (req, principal, policies) => {
    const op = target(req);
    const c = firehosePutRecordCall(policies, principal, String(json(req).DeliveryStreamName ?? ''));
    return [op === 'PutRecord' ? c : { ...c, request: { ...c.request, action: `firehose:${op}` }, description: `Firehose ${op}` }];
  },
};

/** Rekognition (AWS JSON 1.1): the operation, and its read of the image from S3 with the caller's permissions. */
export const REKOGNITION_BINDING: ServiceBinding = {
  wire: 'rekognition',
  signingName: 'rekognition',
  bufferBody: true,
  describe: (req, principal, policies) => {
    const op = target(req);
    const obj = json(req).Image?.S3Object;
    if (obj?.Bucket && obj?.Name) return rekognitionCalls(policies, principal, op, { bucket: obj.Bucket, key: obj.Name, versionId: obj.Version });
    return [call(policies.account, principal, `rekognition:${op}`, '*', `Rekognition ${op}`)];
  },
};

/** EventBridge (AWS JSON 1.1): PutEvents on each bus its entries name. */
export const EVENTS_BINDING: ServiceBinding = {
  wire: 'events',
  signingName: 'events',
  bufferBody: true,
  describe: (req, principal, policies) => {
    const buses = [...new Set<string>((json(req).Entries ?? []).map((e: any) => e?.EventBusName ?? 'default'))];
    return (buses.length > 0 ? buses : ['default']).map((bus) => putEventsCall(policies, principal, bus));
  },
};

/** CloudWatch (AWS JSON 1.0): its metric actions have no resource-level permissions. */
export const CLOUDWATCH_BINDING: ServiceBinding = {
  wire: 'monitoring',
  signingName: 'monitoring',
  bufferBody: true,
  describe: (req, principal, policies) => [call(policies.account, principal, `cloudwatch:${target(req)}`, '*', `CloudWatch ${target(req)}`)],
};

/**
 * Cognito user pools (AWS JSON 1.1): sign-in and the calls authorized by a user's token take no signature; the
 * `Admin*` and pool management calls are signed and IAM-authorized on the user pool.
 */
export const COGNITO_BINDING: ServiceBinding = {
  wire: 'cognito-idp',
  signingName: 'cognito-idp',
  bufferBody: true,
  // GET: the pool's JWKS and discovery documents, public on AWS too.
  unsigned: (req) => req.method === 'GET' || COGNITO_UNSIGNED_OPERATIONS.has(target(req)),
  describe: (req, principal: CallPrincipal, policies: TemplatePolicies): Call[] => {
    const op = target(req);
    if (COGNITO_UNSIGNED_OPERATIONS.has(op)) return [];
    const a = policies.account;
    const pool = String(json(req).UserPoolId ?? '*');
    return [call(a, principal, `cognito-idp:${op}`, pool === '*' ? '*' : `arn:${a.partition}:cognito-idp:${a.region}:${a.account}:userpool/${pool}`, `Cognito ${op}`)];
  },
};

/**
 * The S3 condition keys a request sets, for bucket policies that test them (Service Authorization Reference, "Amazon
 * S3": `s3:x-amz-server-side-encryption`, `s3:x-amz-server-side-encryption-aws-kms-key-id`, `s3:x-amz-copy-source`,
 * `s3:x-amz-metadata-directive`, `s3:VersionId`, `s3:prefix`, `s3:delimiter`, `s3:max-keys`, `s3:authType`,
 * `s3:signatureversion`). Keys the request does not set stay absent.
 */
function s3RequestContext(req: GatewayRequest): Record<string, string> {
  const context: Record<string, string> = {};
  for (const h of ['x-amz-server-side-encryption', 'x-amz-server-side-encryption-aws-kms-key-id', 'x-amz-copy-source', 'x-amz-metadata-directive', 'x-amz-acl']) {
    const v = header(req, h);
    if (v !== undefined) context[`s3:${h}`] = v;
  }
  const q = req.url.searchParams;
  for (const [param, key] of [['versionId', 's3:VersionId'], ['prefix', 's3:prefix'], ['delimiter', 's3:delimiter'], ['max-keys', 's3:max-keys']]) {
    const v = q.get(param);
    if (v !== null) context[key] = v;
  }
  const presigned = q.has('X-Amz-Signature');
  if (presigned || header(req, 'authorization') !== undefined) {
    context['s3:authType'] = presigned ? 'REST-QUERY-STRING' : 'REST-HEADER';
    context['s3:signatureversion'] = 'AWS4-HMAC-SHA256';
  }
  return context;
}

function header(req: GatewayRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}
