import { AuthorizationRequest, CallPrincipal } from './model';
import { eventBusArn, TemplatePolicies } from './template-policies';
import { LocalAccount } from '../template-resolver';

/**
 * What AWS authorizes for each call a pipeline makes: the action, the resource and the request context of the call
 * itself, and of the calls the service makes on the caller's behalf with the caller's credentials (S3 asking KMS for
 * an SSE-KMS object, SNS and SQS for an encrypted topic or queue, Rekognition reading the image from S3). One place:
 * the gate maps every live request through these functions, and `ics-local iam` lists the pipeline's calls through
 * the same functions (plan.ts), so the two cannot drift.
 */

/** One request to authorize, and why it is made. */
export interface Call {
  readonly request: AuthorizationRequest;
  /** What makes the call (`S3 GetObject`, `KMS Decrypt for S3 GetObject`). */
  readonly description: string;
}

/** Context keys every signed call over TLS carries (IAM User Guide, "AWS global condition context keys"). */
function baseContext(principal: CallPrincipal, a: LocalAccount): Record<string, string> {
  const context: Record<string, string> = { 'aws:SecureTransport': 'true', 'aws:RequestedRegion': a.region };
  if (principal.kind === 'role') {
    context['aws:PrincipalArn'] = principal.roleArn;
    context['aws:PrincipalAccount'] = principal.roleArn.split(':')[4];
  }
  return context;
}

/** A request of `principal` for `action` on `resource` (in the pipeline's account), with extra context keys. */
export function call(
  a: LocalAccount, principal: CallPrincipal, action: string, resource: string, description: string, context: Record<string, string | string[]> = {},
): Call {
  return { description, request: { principal, action, resource, resourceAccount: a.account, context: { ...baseContext(principal, a), ...context } } };
}

/** A service principal's call on behalf of a source (EventBridge delivering for a rule): `aws:SourceArn`, `aws:SourceAccount`. */
export function serviceCall(a: LocalAccount, service: string, sourceArn: string, action: string, resource: string, description: string): Call {
  return call(a, { kind: 'service', service }, action, resource, description, { 'aws:SourceArn': sourceArn, 'aws:SourceAccount': a.account });
}

/**
 * KMS as a service calls it for the caller, with the caller's credentials: `kms:ViaService` names the service's
 * endpoint, and the encryption context is the service's (KMS Developer Guide, "kms:ViaService"; S3 User Guide,
 * "Using server-side encryption with AWS KMS keys": `aws:s3:arn`; SNS: `aws:sns:topicArn`; SQS: `aws:sqs:arn`).
 */
export function kmsViaService(
  a: LocalAccount, principal: CallPrincipal, action: string, keyArn: string, service: string, context: Record<string, string>, why: string,
): Call {
  const extra: Record<string, string | string[]> = {
    'kms:ViaService': `${service}.${a.region}.amazonaws.com`,
    'kms:CallerAccount': principal.kind === 'role' ? principal.roleArn.split(':')[4] : a.account,
    'kms:EncryptionContextKeys': Object.keys(context),
    'aws:CalledVia': [`${service}.amazonaws.com`],
    'aws:ViaAWSService': 'true',
  };
  for (const [k, v] of Object.entries(context)) extra[`kms:EncryptionContext:${k}`] = v;
  return call(a, principal, action, keyArn, `KMS ${action.split(':')[1]} for ${why}`, extra);
}

/** The S3 operations the pipeline's callers use. */
export type S3Operation = 'GetObject' | 'HeadObject' | 'PutObject' | 'CopyObject' | 'DeleteObject' | 'GetObjectTagging' | 'PutObjectTagging'
| 'ListObjectsV2' | 'ListObjectVersions';

export interface S3Params {
  readonly bucket: string;
  readonly key?: string;
  readonly versionId?: string;
  /** PutObject or CopyObject with a tag set (`x-amz-tagging`). */
  readonly tagging?: boolean;
  /** CopyObject's source. */
  readonly source?: { readonly bucket: string; readonly key: string; readonly versionId?: string };
  /** An explicit `x-amz-server-side-encryption-aws-kms-key-id` on a write. */
  readonly kmsKeyArn?: string;
  /** S3's request condition keys (`s3:x-amz-server-side-encryption`, `s3:prefix`...) for the S3 action itself. */
  readonly context?: Record<string, string>;
}

const s3Arn = (a: LocalAccount, bucket: string, key?: string) => `arn:${a.partition}:s3:::${bucket}${key !== undefined ? `/${key}` : ''}`;

/**
 * The requests an S3 call makes (S3 API Reference, each operation's "Permissions"; S3 User Guide, "Required
 * permissions for Amazon S3 API operations"), and S3's calls to KMS under the caller's credentials for an object in a
 * bucket whose default encryption is SSE-KMS: Decrypt to read, GenerateDataKey to write. With an S3 Bucket Key the
 * encryption context is the bucket's ARN, not the object's (S3 User Guide, "Configuring your bucket to use an S3
 * Bucket Key with SSE-KMS for new objects"). HeadObject reads metadata only and asks KMS nothing.
 */
export function s3Calls(policies: TemplatePolicies, principal: CallPrincipal, op: S3Operation, p: S3Params): Call[] {
  const a = policies.account;
  const object = s3Arn(a, p.bucket, p.key);
  const bucket = s3Arn(a, p.bucket);
  const versioned = p.versionId !== undefined && p.versionId !== 'null';
  const kms = (bucketName: string, key: string | undefined, action: string, why: string, explicitKey?: string): Call[] => {
    const enc = policies.encryptionOf(s3Arn(a, bucketName));
    const keyArn = explicitKey ?? enc?.keyArn;
    if (!keyArn) return [];
    const context = { 'aws:s3:arn': enc?.bucketKey ? s3Arn(a, bucketName) : s3Arn(a, bucketName, key) };
    return [kmsViaService(a, principal, action, keyArn, 's3', context, why)];
  };
  const c = (action: string, resource: string) => call(a, principal, action, resource, `S3 ${op}`, p.context);
  switch (op) {
    case 'GetObject':
      return [c(versioned ? 's3:GetObjectVersion' : 's3:GetObject', object), ...kms(p.bucket, p.key, 'kms:Decrypt', `S3 GetObject of s3://${p.bucket}/${p.key}`)];
    case 'HeadObject':
      return [c(versioned ? 's3:GetObjectVersion' : 's3:GetObject', object)];
    case 'PutObject':
      return [
        c('s3:PutObject', object),
        ...(p.tagging ? [c('s3:PutObjectTagging', object)] : []),
        ...kms(p.bucket, p.key, 'kms:GenerateDataKey', `S3 PutObject to s3://${p.bucket}/${p.key}`, p.kmsKeyArn),
      ];
    case 'CopyObject': {
      // CopyObject reads the source and writes the target, each with its own key (S3 API Reference, "CopyObject":
      // "you must have read access to the source object and write access to the destination bucket").
      const src = p.source!;
      const srcVersioned = src.versionId !== undefined && src.versionId !== 'null';
      return [
        call(a, principal, srcVersioned ? 's3:GetObjectVersion' : 's3:GetObject', s3Arn(a, src.bucket, src.key), 'S3 CopyObject (source)'),
        ...kms(src.bucket, src.key, 'kms:Decrypt', `S3 CopyObject from s3://${src.bucket}/${src.key}`),
        c('s3:PutObject', object),
        ...(p.tagging ? [c('s3:PutObjectTagging', object)] : []),
        ...kms(p.bucket, p.key, 'kms:GenerateDataKey', `S3 CopyObject to s3://${p.bucket}/${p.key}`, p.kmsKeyArn),
      ];
    }
    case 'DeleteObject':
      return [c(versioned ? 's3:DeleteObjectVersion' : 's3:DeleteObject', object)];
    case 'GetObjectTagging':
      return [c(versioned ? 's3:GetObjectVersionTagging' : 's3:GetObjectTagging', object)];
    case 'PutObjectTagging':
      return [c(versioned ? 's3:PutObjectVersionTagging' : 's3:PutObjectTagging', object)];
    case 'ListObjectsV2':
      return [c('s3:ListBucket', bucket)];
    case 'ListObjectVersions':
      return [c('s3:ListBucketVersions', bucket)];
  }
}

/**
 * SNS Publish, and with an encrypted topic the publisher's own KMS calls: SNS needs `kms:GenerateDataKey*` and
 * `kms:Decrypt` of the publisher (SNS Developer Guide, "Data encryption: key management", "Allow a user to send
 * messages to a topic with SSE").
 */
export function snsPublishCalls(policies: TemplatePolicies, principal: CallPrincipal, topicArn: string): Call[] {
  const a = policies.account;
  const enc = policies.encryptionOf(topicArn);
  const why = `SNS Publish to ${topicArn.split(':').pop()}`;
  const ctx = { 'aws:sns:topicArn': topicArn };
  return [
    call(a, principal, 'sns:Publish', topicArn, 'SNS Publish'),
    ...(enc ? [kmsViaService(a, principal, 'kms:GenerateDataKey', enc.keyArn, 'sns', ctx, why), kmsViaService(a, principal, 'kms:Decrypt', enc.keyArn, 'sns', ctx, why)] : []),
  ];
}

/** SQS operations the pipeline's callers use. */
export type SqsOperation = 'SendMessage' | 'ReceiveMessage' | 'DeleteMessage' | 'ChangeMessageVisibility' | 'GetQueueAttributes';

/**
 * An SQS call, and with an SSE-KMS queue the caller's KMS calls: a producer needs `kms:GenerateDataKey` and
 * `kms:Decrypt`, a consumer `kms:Decrypt` (SQS Developer Guide, "Key management": "Example: permissions for
 * producers and consumers"). A service principal (EventBridge) needs the same in the key policy.
 */
export function sqsCalls(policies: TemplatePolicies, principal: CallPrincipal, op: SqsOperation, queueArn: string, source?: string): Call[] {
  const a = policies.account;
  const enc = policies.encryptionOf(queueArn);
  const context: Record<string, string> = source ? { 'aws:SourceArn': source, 'aws:SourceAccount': a.account } : {};
  const mk = (action: string, resource: string, description: string, extra: Record<string, string | string[]> = {}) =>
    call(a, principal, action, resource, description, { ...extra, ...context });
  const why = `SQS ${op} on ${queueArn.split(':').pop()}`;
  const ctx = { 'aws:sqs:arn': queueArn };
  const keyCall = (action: string) => {
    const k = kmsViaService(a, principal, action, enc!.keyArn, 'sqs', ctx, why);
    return mk(k.request.action, k.request.resource, k.description, k.request.context);
  };
  const kms = !enc ? [] : op === 'SendMessage' ? [keyCall('kms:GenerateDataKey'), keyCall('kms:Decrypt')] : op === 'ReceiveMessage' ? [keyCall('kms:Decrypt')] : [];
  return [mk(`sqs:${op}`, queueArn, `SQS ${op}`), ...kms];
}

/** DynamoDB item and query calls on a table (DynamoDB Developer Guide, "Actions, resources and condition keys"). */
export function dynamodbCall(policies: TemplatePolicies, principal: CallPrincipal, op: string, tableName: string, indexName?: string): Call {
  const a = policies.account;
  const table = tableName.startsWith('arn:') ? tableName : `arn:${a.partition}:dynamodb:${a.region}:${a.account}:table/${tableName}`;
  return call(a, principal, `dynamodb:${op}`, indexName ? `${table}/index/${indexName}` : table, `DynamoDB ${op}`);
}

/** EventBridge PutEvents on a bus (name or ARN; default: the account's default bus). */
export function putEventsCall(policies: TemplatePolicies, principal: CallPrincipal, eventBus?: string): Call {
  const a = policies.account;
  return call(a, principal, 'events:PutEvents', eventBusArn(eventBus ?? 'default', a), 'EventBridge PutEvents');
}

/** Firehose PutRecord on a delivery stream (name or ARN). */
export function firehosePutRecordCall(policies: TemplatePolicies, principal: CallPrincipal, stream: string): Call {
  const a = policies.account;
  const arn = stream.startsWith('arn:') ? stream : `arn:${a.partition}:firehose:${a.region}:${a.account}:deliverystream/${stream}`;
  return call(a, principal, 'firehose:PutRecord', arn, 'Firehose PutRecord');
}

/** SageMaker Runtime InvokeEndpoint: the endpoint's ARN holds its name in lower case. */
export function invokeEndpointCall(policies: TemplatePolicies, principal: CallPrincipal, endpointName: string): Call {
  const a = policies.account;
  return call(a, principal, 'sagemaker:InvokeEndpoint', `arn:${a.partition}:sagemaker:${a.region}:${a.account}:endpoint/${endpointName.toLowerCase()}`, 'SageMaker InvokeEndpoint');
}

/**
 * Rekognition's image operations act on no resource (`*`) and read the S3 object with the caller's permissions
 * (Rekognition Developer Guide, "Actions, resources, and condition keys" and "Images stored in an Amazon S3
 * bucket": the caller needs s3:GetObject; an SSE-KMS object also needs kms:Decrypt).
 */
export function rekognitionCalls(
  policies: TemplatePolicies, principal: CallPrincipal, op: string, image: { bucket: string; key: string; versionId?: string },
): Call[] {
  const a = policies.account;
  return [
    call(a, principal, `rekognition:${op}`, '*', `Rekognition ${op}`),
    ...s3Calls(policies, principal, 'GetObject', image).map((c) => ({ ...c, description: `${c.description} (Rekognition ${op} reads the image)` })),
  ];
}

/** Step Functions StartExecution / StartSyncExecution on a state machine. */
export function startExecutionCall(policies: TemplatePolicies, principal: CallPrincipal, stateMachineArn: string, sync: boolean): Call {
  return call(policies.account, principal, sync ? 'states:StartSyncExecution' : 'states:StartExecution', stateMachineArn, `Step Functions ${sync ? 'StartSyncExecution' : 'StartExecution'}`);
}

/** Lambda Invoke of a function (qualified or not). */
export function invokeFunctionCall(policies: TemplatePolicies, principal: CallPrincipal, functionArn: string): Call {
  return call(policies.account, principal, 'lambda:InvokeFunction', functionArn, 'Lambda Invoke');
}
