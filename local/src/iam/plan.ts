import { PENDING_INDEX } from 'cdk-image-classification-pipeline/lib/review/decisions';
import {
  Call, call, dynamodbCall, firehosePutRecordCall, invokeEndpointCall, invokeFunctionCall, putEventsCall, rekognitionCalls, s3Calls, S3Operation,
  serviceCall, snsPublishCalls, sqsCalls, startExecutionCall,
} from './calls';
import { CallPrincipal, Decision } from './model';
import { TemplatePolicies } from './template-policies';
import { CfnTemplate, resolveIntrinsics, stateMachineDefinition } from '../template-resolver';

/** A call a principal of the pipeline makes, and AWS's decision on it. */
export interface PlannedCall {
  /** Who: `IcsClassifyFunction (role IcsClassifyFunctionServiceRole...)`, `events.amazonaws.com (rule IcsUploadRule...)`. */
  readonly caller: string;
  /** Where in the pipeline (`state TagObject`, `event source mapping`, `delivery to S3`). */
  readonly where: string;
  readonly call: Call;
  readonly decision: Decision;
}

/** The library's own functions end their description with this. */
const LIBRARY_FUNCTION = '(cdk-image-classification-pipeline)';
/** A key the plan uses for "an uploaded image". */
const SAMPLE_IMAGE = 'example.jpg';

/**
 * Every call the pipeline in `template` makes, per principal, with AWS's decision on each: the state machines' task
 * states (their role), the library's functions and their event source mappings (each function's role), EventBridge
 * delivering to its targets (`events.amazonaws.com`, or the target's role), Firehose delivering the audit trail (the
 * stream's role). Parameters a call takes at run time (an object key) are filled with a representative value under
 * the prefix the template names. The calls are built by the same functions the kit's gate maps live requests with.
 */
export function planCalls(template: CfnTemplate, policies: TemplatePolicies): PlannedCall[] {
  const a = policies.account;
  const resolve = (v: unknown) => resolveIntrinsics(v, template, a);
  const resources = Object.entries(template.Resources);
  const planned: PlannedCall[] = [];
  const add = (caller: string, where: string, calls: Call[]) => {
    for (const c of calls) planned.push({ caller, where, call: c, decision: policies.authorize(c.request) });
  };
  const roleIdOf = (arn: unknown) => {
    const value = String(resolve(arn));
    return [...policies.roles.values()].find((r) => r.arn === value)?.logicalId;
  };
  const upload = uploadLocation(template, resolve);

  for (const [id, r] of resources) {
    const p = r.Properties ?? {};
    if (r.Type === 'AWS::StepFunctions::StateMachine') {
      const roleId = roleIdOf(p.RoleArn);
      if (!roleId) continue;
      const principal = policies.rolePrincipal(roleId);
      const machineArn = resolve({ Ref: id });
      const definition = stateMachineDefinition(template, id, a);
      for (const [name, state] of allStates(definition)) {
        add(`${id} (role ${roleId})`, `state ${name}`, stateCalls(policies, principal, state, upload, machineArn));
      }
    }
    if (r.Type === 'AWS::Lambda::Function' && String(resolve(p.Description ?? '')).endsWith(LIBRARY_FUNCTION)) {
      const roleId = roleIdOf(p.Role);
      if (!roleId) continue;
      const principal = policies.rolePrincipal(roleId);
      const env = resolve(p.Environment?.Variables ?? {}) as Record<string, string>;
      const logGroup = p.LoggingConfig?.LogGroup !== undefined ? String(resolve(p.LoggingConfig.LogGroup)) : `/aws/lambda/${id}`;
      add(`${id} (role ${roleId})`, 'logs', [
        call(a, principal, 'logs:CreateLogStream', `arn:${a.partition}:logs:${a.region}:${a.account}:log-group:${logGroup}:log-stream:`, 'Lambda writes its logs'),
        call(a, principal, 'logs:PutLogEvents', `arn:${a.partition}:logs:${a.region}:${a.account}:log-group:${logGroup}:log-stream:2026/12/07/[$LATEST]0`, 'Lambda writes its logs'),
      ]);
      add(`${id} (role ${roleId})`, 'handler', functionCalls(policies, principal, id, env, upload));
    }
    if (r.Type === 'AWS::Lambda::EventSourceMapping') {
      const fnId = p.FunctionName?.Ref as string | undefined;
      const fn = fnId ? template.Resources[fnId] : undefined;
      const roleId = fn && roleIdOf(fn.Properties?.Role);
      const queue = String(resolve(p.EventSourceArn));
      if (!roleId || !queue.includes(':sqs:')) continue;
      add(`${fnId} (role ${roleId})`, 'event source mapping', eventSourceMappingCalls(policies, policies.rolePrincipal(roleId), queue));
    }
    if (r.Type === 'AWS::Events::Rule') {
      for (const t of p.Targets ?? []) {
        const delivery = ruleTargetCalls(template, policies, id, t);
        const caller = t.RoleArn ? `events.amazonaws.com as ${roleIdOf(t.RoleArn)}` : `events.amazonaws.com (rule ${id})`;
        add(caller, `target ${t.Id}`, delivery.target);
        if (delivery.deadLetter.length > 0) add(`events.amazonaws.com (rule ${id})`, `target ${t.Id} dead-letter queue`, delivery.deadLetter);
      }
    }
    if (r.Type === 'AWS::KinesisFirehose::DeliveryStream') {
      const dest = p.ExtendedS3DestinationConfiguration ?? p.S3DestinationConfiguration;
      const roleId = dest && roleIdOf(dest.RoleARN);
      if (!roleId) continue;
      const principal = policies.rolePrincipal(roleId);
      const bucket = String(resolve(dest.BucketARN)).split(':::')[1];
      const destinationKey = dest.EncryptionConfiguration?.KMSEncryptionConfig?.AWSKMSKeyARN;
      const kmsKeyArn = destinationKey ? String(resolve(destinationKey)) : undefined;
      const sampleKey = (prefix: unknown) => `${String(resolve(prefix ?? '')).replace(/!\{[^}]*\}/g, 'x')}stream-1-2026-12-07-00-00-00-0.gz`;
      // Firehose writes each object with the stream's role, under the destination's key when one is configured
      // (Firehose Developer Guide, "Grant Firehose access to an Amazon S3 destination").
      add(`${id} (role ${roleId})`, 'delivery to S3', [
        ...s3Calls(policies, principal, 'PutObject', { bucket, key: sampleKey(dest.Prefix), kmsKeyArn }),
        ...(dest.ErrorOutputPrefix ? s3Calls(policies, principal, 'PutObject', { bucket, key: sampleKey(dest.ErrorOutputPrefix), kmsKeyArn }) : []),
      ]);
    }
  }
  return planned;
}

/**
 * What Lambda's event source mapping does with the function's execution role: poll, delete and return messages
 * (Lambda Developer Guide, "Using Lambda with Amazon SQS", execution role permissions), and decrypt them.
 */
export function eventSourceMappingCalls(policies: TemplatePolicies, principal: CallPrincipal, queueArn: string): Call[] {
  return (['ReceiveMessage', 'DeleteMessage', 'ChangeMessageVisibility', 'GetQueueAttributes'] as const).flatMap((op) => sqsCalls(policies, principal, op, queueArn));
}

/**
 * What EventBridge does to deliver a rule's event to a target (`target`), and to its dead-letter queue (`deadLetter`):
 * as the target's role when it has one (a state machine), else as `events.amazonaws.com` with the rule as
 * `aws:SourceArn`, which the queue's or function's resource policy must allow (EventBridge User Guide, "Using
 * resource-based policies for Amazon EventBridge"; "Granting permissions to the dead-letter queue").
 */
export function ruleTargetCalls(template: CfnTemplate, policies: TemplatePolicies, ruleId: string, t: any): { target: Call[]; deadLetter: Call[] } {
  const a = policies.account;
  const resolve = (v: unknown) => resolveIntrinsics(v, template, a);
  const ruleArn = String(resolve({ 'Fn::GetAtt': [ruleId, 'Arn'] }));
  const events: CallPrincipal = { kind: 'service', service: 'events.amazonaws.com' };
  const arn = String(resolve(t.Arn));
  const target = t.RoleArn
    ? (arn.includes(':states:') ? [startExecutionCall(policies, { kind: 'role', roleArn: String(resolve(t.RoleArn)), sessionName: 'EventBridge' }, arn, false)] : [])
    : arn.includes(':sqs:') ? sqsCalls(policies, events, 'SendMessage', arn, ruleArn)
      : arn.includes(':lambda:') ? [serviceCall(a, 'events.amazonaws.com', ruleArn, 'lambda:InvokeFunction', arn, 'EventBridge invokes its target')] : [];
  const deadLetter = t.DeadLetterConfig?.Arn ? sqsCalls(policies, events, 'SendMessage', String(resolve(t.DeadLetterConfig.Arn)), ruleArn) : [];
  return { target, deadLetter };
}

/** The calls of one task state, with representative values for what the execution decides. */
function stateCalls(policies: TemplatePolicies, principal: ReturnType<TemplatePolicies['rolePrincipal']>, state: any, upload: Upload, machineArn: string): Call[] {
  const a = policies.account;
  const resource: string = state.Resource ?? '';
  const params = state.Parameters ?? {};
  const value = (field: string, sample: string): string => (typeof params[field] === 'string' ? params[field] : sampleOf(params[`${field}.$`], sample));
  const imageKey = `${upload.prefix}${SAMPLE_IMAGE}`;
  if (state.Type === 'Map' && state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED') {
    // A Distributed Map reads its items and writes its results with the state machine's role, and starts its child
    // executions on the same machine (Step Functions Developer Guide, "IAM policies for using Distributed Map states").
    const reader = state.ItemReader ?? {};
    const rp = reader.Parameters ?? {};
    const bucket = typeof rp.Bucket === 'string' ? rp.Bucket : upload.bucket;
    const readerCalls = /s3:listObjectsV2$/.test(reader.Resource ?? '') ? s3Calls(policies, principal, 'ListObjectsV2', { bucket })
      : reader.Resource ? s3Calls(policies, principal, 'GetObject', { bucket, key: `${upload.prefix}manifest.csv` }) : [];
    const wp = state.ResultWriter?.Parameters ?? {};
    const writerCalls = state.ResultWriter ? s3Calls(policies, principal, 'PutObject', { bucket: wp.Bucket ?? upload.bucket, key: `${wp.Prefix ?? ''}run/manifest.json` }) : [];
    return [...readerCalls, ...writerCalls, startExecutionCall(policies, principal, machineArn, false)];
  }
  if (state.Type !== 'Task') return [];
  if (resource.startsWith(`arn:${a.partition}:lambda:`)) return [invokeFunctionCall(policies, principal, resource)];
  const integration = /^arn:[^:]+:states:::(.+)$/.exec(resource)?.[1] ?? '';
  const sdk = /^aws-sdk:([a-z0-9]+):(\w+)$/.exec(integration);
  if (integration === 'lambda:invoke') return [invokeFunctionCall(policies, principal, value('FunctionName', ''))];
  if (integration === 'sns:publish') return snsPublishCalls(policies, principal, value('TopicArn', ''));
  if (integration === 'events:putEvents') {
    const buses = [...new Set(((params.Entries ?? []) as any[]).map((e) => e.EventBusName ?? 'default'))];
    return (buses.length > 0 ? buses : ['default']).map((bus) => putEventsCall(policies, principal, bus));
  }
  const dynamo = /^dynamodb:(\w+)$/.exec(integration) ?? (sdk?.[1] === 'dynamodb' ? sdk.slice(1) : undefined);
  if (dynamo) return [dynamodbCall(policies, principal, pascal(dynamo[dynamo.length - 1]), value('TableName', ''))];
  if (sdk?.[1] === 's3') {
    const op = pascal(sdk[2]) as S3Operation;
    const bucket = value('Bucket', upload.bucket);
    const key = params['Key.$'] === '$.actions.quarantine.key' ? `${upload.quarantinePrefix ?? ''}${imageKey}` : value('Key', imageKey);
    if (op === 'CopyObject') {
      const source = sampleOf(params['CopySource.$'], `${upload.bucket}/${imageKey}`, params.CopySource);
      const [srcBucket, ...rest] = source.split('/');
      return s3Calls(policies, principal, op, { bucket, key, source: { bucket: srcBucket, key: rest.join('/') }, tagging: params.TaggingDirective === 'REPLACE' });
    }
    return s3Calls(policies, principal, op, { bucket, key, tagging: params.Tagging !== undefined || params['Tagging.$'] !== undefined });
  }
  if (sdk?.[1] === 'firehose') return [firehosePutRecordCall(policies, principal, value('DeliveryStreamName', ''))];
  if (sdk?.[1] === 'rekognition') {
    const obj = params.Image?.S3Object ?? {};
    return rekognitionCalls(policies, principal, pascal(sdk[2]), {
      bucket: typeof obj.Bucket === 'string' ? obj.Bucket : upload.bucket, key: imageKey,
    });
  }
  if (sdk?.[1] === 'sfn' && sdk[2] === 'startSyncExecution') return [startExecutionCall(policies, principal, value('StateMachineArn', ''), true)];
  return [];
}

/** The calls a library function's handler makes, from its environment (src/handlers: classify, dispatch, console-api, ...). */
function functionCalls(policies: TemplatePolicies, principal: ReturnType<TemplatePolicies['rolePrincipal']>, id: string, env: Record<string, string>, upload: Upload): Call[] {
  const a = policies.account;
  const image = { bucket: upload.bucket, key: `${upload.prefix}${SAMPLE_IMAGE}` };
  if (/ClassifyFunction/.test(id)) {
    return [
      ...s3Calls(policies, principal, 'GetObjectTagging', image),
      ...s3Calls(policies, principal, 'GetObject', image),
      ...(env.ICS_ENDPOINT_NAME ? [invokeEndpointCall(policies, principal, env.ICS_ENDPOINT_NAME)] : []),
    ];
  }
  if (/DispatchFunction/.test(id)) {
    const queueArn = queueArnOf(env.ICS_INGEST_QUEUE_URL ?? '', a);
    return [
      startExecutionCall(policies, principal, env.ICS_STATE_MACHINE_ARN, true),
      ...['PutItem', 'GetItem', 'UpdateItem', 'DeleteItem'].map((op) => dynamodbCall(policies, principal, op, env.ICS_IDEMPOTENCY_TABLE)),
      ...sqsCalls(policies, principal, 'ChangeMessageVisibility', queueArn),
    ];
  }
  if (/ReviewMetricsFunction/.test(id)) return [dynamodbCall(policies, principal, 'Query', env.ICS_REVIEW_TABLE, PENDING_INDEX)];
  if (/SummarizeFunction/.test(id)) return [];
  if (/ConsoleApiFunction/.test(id)) {
    const s = JSON.parse(env.ICS_CONSOLE_SETTINGS ?? '{}');
    const input = { bucket: s.bucket, key: `${s.inputPrefix ?? ''}${SAMPLE_IMAGE}` };
    const quarantined = s.quarantine ? { bucket: s.quarantine.bucket, key: `${s.quarantine.prefix}${input.key}` } : undefined;
    const manifest = { bucket: s.feedback?.bucket, key: `${s.feedback?.prefix ?? ''}manifest.jsonl` };
    return [
      ...['GetItem', 'Query', 'UpdateItem', 'PutItem'].map((op) => dynamodbCall(policies, principal, op, s.reviewTable, op === 'Query' ? PENDING_INDEX : undefined)),
      // A viewer's presigned GET and a reviewer's presigned PUT run with the function's credentials.
      ...s3Calls(policies, principal, 'GetObject', input),
      ...(s.uploads ? s3Calls(policies, principal, 'PutObject', input) : []),
      ...s3Calls(policies, principal, 'GetObjectTagging', input),
      ...s3Calls(policies, principal, 'PutObjectTagging', input),
      ...(quarantined ? [
        ...s3Calls(policies, principal, 'GetObject', quarantined),
        ...s3Calls(policies, principal, 'HeadObject', quarantined),
        ...s3Calls(policies, principal, 'CopyObject', { ...input, source: quarantined, tagging: true }),
        // A quarantined upload's status: the newest version under the delete marker the move left.
        ...s3Calls(policies, principal, 'ListObjectVersions', { bucket: input.bucket }),
        ...s3Calls(policies, principal, 'DeleteObject', quarantined),
      ] : []),
      ...s3Calls(policies, principal, 'GetObject', manifest),
      ...s3Calls(policies, principal, 'PutObject', manifest),
      ...(s.eventBus ? [putEventsCall(policies, principal, s.eventBus)] : []),
      call(a, principal, 'cloudwatch:GetMetricData', '*', 'CloudWatch GetMetricData'),
    ];
  }
  return [];
}

interface Upload {
  readonly bucket: string;
  readonly prefix: string;
  /** Where quarantine moves an image (the classify function's setting, or the Rekognition states' expression). */
  readonly quarantinePrefix?: string;
}

/** The bucket and key prefix the upload rule watches. */
function uploadLocation(template: CfnTemplate, resolve: (v: unknown) => any): Upload {
  for (const r of Object.values(template.Resources)) {
    if (r.Type !== 'AWS::Events::Rule') continue;
    const detail = resolve(r.Properties?.EventPattern ?? {})?.detail;
    const bucket = detail?.bucket?.name?.[0];
    if (typeof bucket !== 'string') continue;
    const keys = ([] as any[]).concat(detail?.object?.key ?? []);
    // `{ prefix }`, or `{ wildcard: 'in/*.jpg' }` when the rule filters prefix and suffix together.
    const prefix = keys.map((k) => k?.prefix ?? (typeof k?.wildcard === 'string' ? k.wildcard.split('*')[0] : undefined)).find((x) => typeof x === 'string') ?? '';
    return { bucket, prefix, quarantinePrefix: quarantinePrefixOf(template, resolve) };
  }
  return { bucket: 'unknown-bucket', prefix: '' };
}

function quarantinePrefixOf(template: CfnTemplate, resolve: (v: unknown) => any): string | undefined {
  for (const r of Object.values(template.Resources)) {
    const env = r.Type === 'AWS::Lambda::Function' ? resolve(r.Properties?.Environment?.Variables ?? {}) : {};
    if (typeof env.ICS_QUARANTINE_PREFIX === 'string') return env.ICS_QUARANTINE_PREFIX;
  }
  // The Rekognition states compute the key in JSONata: `"quarantine": {"key": "<prefix>" & $in.key`.
  const expression = /"quarantine": \{\s*"key": ("(?:[^"\\]|\\.)*") & \$in\.key/;
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::StepFunctions::StateMachine') continue;
    for (const [, state] of allStates(stateMachineDefinition(template, id))) {
      const m = typeof state.Output === 'string' ? expression.exec(state.Output) : null;
      if (m) return JSON.parse(m[1]);
    }
  }
  return undefined;
}

/** A representative value of a JSONPath parameter: the static prefix of a `States.Format`, else `sample`. */
function sampleOf(path: unknown, sample: string, literal?: unknown): string {
  if (typeof literal === 'string') return literal;
  if (typeof path !== 'string') return sample;
  const format = /^States\.Format\('([^'{]*)\{\}/.exec(path);
  return format ? `${format[1]}${sample.split('/').pop()}` : sample;
}

const pascal = (s: string) => `${s[0].toUpperCase()}${s.slice(1)}`;

function queueArnOf(url: string, a: { partition: string; region: string; account: string }): string {
  const name = url.split('/').pop() ?? '';
  return `arn:${a.partition}:sqs:${a.region}:${a.account}:${name}`;
}

function allStates(definition: any): Array<[string, any]> {
  return Object.entries<any>(definition.States ?? {}).flatMap(([name, state]) => [
    [name, state] as [string, any],
    ...(state.ItemProcessor ?? state.Iterator ? allStates(state.ItemProcessor ?? state.Iterator) : []),
    ...(state.Branches ?? []).flatMap((b: any) => allStates(b)),
  ]);
}
