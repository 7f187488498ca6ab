import { anonymousPrincipal, runSimulation, Simulation } from '@cloud-copilot/iam-simulate';
import { AWS_MANAGED_POLICIES } from '../../src/iam/aws-managed-policies';
import { denialMessage, evaluate, sessionArn } from '../../src/iam/evaluate';
import {
  AuthorizationRequest, CallPrincipal, Decision, EvaluationInput, NamedPolicy, PolicyConditions, PolicyStatement,
} from '../../src/iam/model';

// The differential test: @cloud-copilot/iam-simulate (AGPL-3.0, a dev dependency, used here only) is the oracle.
// It sets no context keys by itself, so every case passes the caller's keys explicitly.

const ACCT = '123456789012';
const OTHER = '210987654321';
const ROLE = `arn:aws:iam::${ACCT}:role/service-role/FnRole`;
const OTHER_ROLE = `arn:aws:iam::${ACCT}:role/OtherRole`;
const FOREIGN_ROLE = `arn:aws:iam::${OTHER}:role/Foreign`;
const BUCKET = 'arn:aws:s3:::ics-bucket';
const OBJ = `${BUCKET}/in/cam1/a.jpg`;
const QUEUE = `arn:aws:sqs:us-east-1:${ACCT}:ingest`;
const KEY = `arn:aws:kms:us-east-1:${ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const RULE = `arn:aws:events:us-east-1:${ACCT}:rule/ics-upload`;
const LOG_GROUP = `arn:aws:logs:us-east-1:${ACCT}:log-group:/aws/lambda/fn:*`;

const role = (roleArn = ROLE, sessionName = 'fn'): CallPrincipal => ({ kind: 'role', roleArn, sessionName });
const SERVICE = (service: string): CallPrincipal => ({ kind: 'service', service });
const ANON: CallPrincipal = { kind: 'anonymous' };

/** The keys AWS sets for a role's session, given explicitly to both evaluators. */
function callerContext(p: CallPrincipal): Record<string, string> {
  if (p.kind !== 'role') return p.kind === 'service' ? { 'aws:PrincipalServiceName': p.service } : {};
  return {
    'aws:PrincipalArn': p.roleArn,
    'aws:PrincipalAccount': p.roleArn.split(':')[4],
    'aws:PrincipalType': 'AssumedRole',
    'aws:userid': `AROAEXAMPLEROLEID01:${p.sessionName}`,
  };
}

const doc = (...Statement: PolicyStatement[]): NamedPolicy['document'] => ({ Version: '2012-10-17', Statement });
const named = (name: string, ...s: PolicyStatement[]): NamedPolicy => ({ name, document: doc(...s) });
const allow = (Action: string | string[], Resource: string | string[] = '*', Condition?: PolicyConditions): PolicyStatement =>
  ({ Effect: 'Allow', Action, Resource, ...(Condition ? { Condition } : {}) });
const deny = (Action: string | string[], Resource: string | string[] = '*', Condition?: PolicyConditions): PolicyStatement =>
  ({ Effect: 'Deny', Action, Resource, ...(Condition ? { Condition } : {}) });

interface Case {
  readonly name: string;
  readonly input: EvaluationInput;
}

function request(principal: CallPrincipal, action: string, resource: string, context: Record<string, string | string[]> = {},
  resourceAccount = ACCT): AuthorizationRequest {
  return { principal, action, resource, resourceAccount, context: { ...callerContext(principal), ...context } };
}

type OracleResult = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

async function oracle(input: EvaluationInput): Promise<OracleResult> {
  const { request: r, principalPolicies: pp } = input;
  const simulation: Simulation = {
    request: {
      principal: r.principal.kind === 'role' ? sessionArn(r.principal) : r.principal.kind === 'service' ? r.principal.service : anonymousPrincipal,
      action: r.action,
      resource: { resource: r.resource, accountId: r.resourceAccount },
      contextVariables: { ...r.context },
    },
    identityPolicies: (pp?.identity ?? []).map((p) => ({ name: p.name, policy: p.document })),
    // Each SCP on its own level of the organization: each must allow.
    serviceControlPolicies: (pp?.scps ?? []).map((p, i) => ({ orgIdentifier: `ou-${i}`, policies: [{ name: p.name, policy: p.document }] })),
    resourceControlPolicies: [],
    // Only the keys that apply: the oracle reads a present `undefined` as a policy that allows nothing.
    ...(input.resourcePolicy ? { resourcePolicy: input.resourcePolicy.document } : {}),
    ...(pp?.boundary ? { permissionBoundaryPolicies: [{ name: pp.boundary.name, policy: pp.boundary.document }] } : {}),
  };
  const result = await runSimulation(simulation, {});
  if (result.resultType === 'error') throw new Error(`oracle rejected ${JSON.stringify(result.errors)}`);
  if (result.resultType === 'single' && result.result.ignoredContextKeys?.length) {
    throw new Error(`oracle ignored context keys ${result.result.ignoredContextKeys.join(', ')}`);
  }
  return result.overallResult;
}

const ours = (d: Decision): OracleResult => (d.allowed ? 'Allowed' : d.reason === 'ExplicitDeny' ? 'ExplicitlyDenied' : 'ImplicitlyDenied');

/**
 * Cases where the oracle and the docs disagree; the evaluator follows the docs (tested below, beyond the oracle).
 * `ForAnyValue:...IfExists` on an absent key: the oracle denies, the IAM User Guide ("IAM JSON policy elements:
 * Condition operators", ...IfExists condition operators) says "If the key is not present, evaluate the condition
 * element as true".
 */
const DOCS_OVER_ORACLE = /^ForAnyValue:StringEqualsIfExists × (empty|empty tag list)$/;

/** Every case where the evaluator and the oracle disagree, as `name: ours vs oracle`. */
async function disagreements(cases: readonly Case[]): Promise<string[]> {
  const out: string[] = [];
  for (const c of cases.filter((k) => !DOCS_OVER_ORACLE.test(k.name))) {
    let expected: string;
    try {
      expected = await oracle(c.input);
    } catch (e) {
      expected = String(e);
    }
    const actual = ours(evaluate(c.input));
    if (actual !== expected) out.push(`${c.name}: ours ${actual} vs oracle ${expected}`);
  }
  return out;
}

const identityCase = (name: string, statements: PolicyStatement[], req: AuthorizationRequest): Case =>
  ({ name, input: { request: req, principalPolicies: { identity: [named('inline', ...statements)] } } });

// ---------------------------------------------------------------------------------------------------------------
// Identity statements × requests: actions, resources, wildcards, NotAction/NotResource, variables, explicit deny.

const IDENTITY_STATEMENTS: Record<string, PolicyStatement[]> = {
  'exact': [allow('s3:GetObject', OBJ)],
  'action case-insensitive': [allow('S3:getobject', OBJ)],
  'action prefix wildcard': [allow('s3:Get*', `${BUCKET}/*`)],
  'action ? wildcard': [allow('s3:?etObject', `${BUCKET}/*`)],
  'action *': [allow('*', '*')],
  'service *': [allow('s3:*', '*')],
  'list of actions': [allow(['sqs:SendMessage', 's3:PutObject'], [QUEUE, `${BUCKET}/in/*`])],
  'resource prefix': [allow('s3:*', `${BUCKET}/in/*`)],
  'resource ? wildcard': [allow('s3:*', `${BUCKET}/in/cam?/*`)],
  'resource region wildcard': [allow('sqs:*', `arn:aws:sqs:*:${ACCT}:*`)],
  'resource is case-sensitive': [allow('s3:*', `${BUCKET}/IN/*`)],
  'NotAction': [{ Effect: 'Allow', NotAction: 's3:Delete*', Resource: '*' }],
  'NotResource': [{ Effect: 'Allow', Action: 's3:*', NotResource: `${BUCKET}/private/*` }],
  'NotAction + NotResource': [{ Effect: 'Allow', NotAction: ['sqs:*'], NotResource: [`${BUCKET}/out/*`] }],
  'allow + deny': [allow('s3:*'), deny('s3:DeleteObject')],
  'deny with NotResource': [allow('*'), { Effect: 'Deny', Action: '*', NotResource: [`${BUCKET}/*`, QUEUE] }],
  'deny NotAction': [allow('*'), { Effect: 'Deny', NotAction: ['s3:GetObject', 's3:ListBucket'], Resource: `${BUCKET}/*` }],
  'variable in resource': [allow('s3:*', `${BUCKET}/\${aws:PrincipalAccount}/*`)],
  'variable with default': [allow('s3:*', `${BUCKET}/in/\${aws:PrincipalTag/camera, 'cam1'}/*`)],
  'literal star variable': [allow('s3:*', `${BUCKET}/in/\${*}`)],
  'AWSLambdaBasicExecutionRole': [...([] as PolicyStatement[]).concat(AWS_MANAGED_POLICIES['service-role/AWSLambdaBasicExecutionRole'].Statement)],
  'deny all with condition': [allow('*'), deny('*', '*', { StringNotEquals: { 'aws:PrincipalAccount': ACCT } })],
  'nothing': [allow('dynamodb:PutItem', `arn:aws:dynamodb:us-east-1:${ACCT}:table/t`)],
};

const REQUESTS: Record<string, AuthorizationRequest> = {
  'GetObject in/': request(role(), 's3:GetObject', OBJ),
  'PutObject in/': request(role(), 's3:PutObject', OBJ),
  'DeleteObject in/': request(role(), 's3:DeleteObject', OBJ),
  'GetObject private/': request(role(), 's3:GetObject', `${BUCKET}/private/x`),
  'GetObject out/': request(role(), 's3:GetObject', `${BUCKET}/out/x`),
  'GetObject by account': request(role(), 's3:GetObject', `${BUCKET}/${ACCT}/k`),
  'ListBucket': request(role(), 's3:ListBucket', BUCKET),
  'SendMessage': request(role(), 'sqs:SendMessage', QUEUE),
  'PutLogEvents': request(role(), 'logs:PutLogEvents', LOG_GROUP),
  'other role GetObject': request(role(OTHER_ROLE, 's2'), 's3:GetObject', OBJ),
};

const crossCases: Case[] = Object.entries(IDENTITY_STATEMENTS).flatMap(([sName, statements]) =>
  Object.entries(REQUESTS).map(([rName, req]) => identityCase(`${sName} × ${rName}`, statements, req)));

// ---------------------------------------------------------------------------------------------------------------
// Condition operators × contexts.

const CONDITIONS: Record<string, PolicyConditions> = {
  'StringEquals': { StringEquals: { 's3:x-amz-server-side-encryption': 'aws:kms' } },
  'StringEquals OR values': { StringEquals: { 's3:x-amz-server-side-encryption': ['AES256', 'aws:kms'] } },
  'StringNotEquals': { StringNotEquals: { 's3:x-amz-server-side-encryption': 'AES256' } },
  'StringEqualsIgnoreCase': { StringEqualsIgnoreCase: { 's3:x-amz-server-side-encryption': 'AWS:KMS' } },
  'StringNotEqualsIgnoreCase': { StringNotEqualsIgnoreCase: { 's3:x-amz-server-side-encryption': 'AWS:KMS' } },
  'StringLike': { StringLike: { 'aws:UserAgent': 'aws-sdk-js/3.*' } },
  'StringNotLike': { StringNotLike: { 'aws:UserAgent': ['*curl*', 'python?requests*'] } },
  'StringEqualsIfExists': { StringEqualsIfExists: { 's3:x-amz-server-side-encryption': 'aws:kms' } },
  'StringNotEqualsIfExists': { StringNotEqualsIfExists: { 's3:x-amz-server-side-encryption': 'AES256' } },
  'StringEquals variable': { StringEquals: { 'aws:ResourceAccount': '${aws:PrincipalAccount}' } },
  'StringLike variable': { StringLike: { 'aws:userid': 'AROA*:${aws:PrincipalTag/session, \'fn\'}' } },
  'NumericLessThanEquals': { NumericLessThanEquals: { 's3:max-keys': '100' } },
  'NumericGreaterThan': { NumericGreaterThan: { 's3:max-keys': 10 } },
  'NumericNotEquals': { NumericNotEquals: { 's3:max-keys': '50' } },
  'NumericEquals': { NumericEquals: { 's3:max-keys': ['50', '1000'] } },
  'NumericLessThanIfExists': { NumericLessThanIfExists: { 's3:max-keys': '20' } },
  'DateLessThan ISO': { DateLessThan: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' } },
  'DateGreaterThanEquals ISO': { DateGreaterThanEquals: { 'aws:CurrentTime': '2025-06-01T00:00:00Z' } },
  'DateGreaterThan epoch': { DateGreaterThan: { 'aws:EpochTime': '1700000000' } },
  'DateNotEquals': { DateNotEquals: { 'aws:CurrentTime': '2026-01-01T00:00:00Z' } },
  'DateEquals': { DateEquals: { 'aws:EpochTime': '1767225600' } },
  'DateLessThanEquals': { DateLessThanEquals: { 'aws:CurrentTime': '2026-01-01T00:00:00Z' } },
  'Bool true': { Bool: { 'aws:SecureTransport': 'true' } },
  'Bool false': { Bool: { 'aws:SecureTransport': false } },
  'BoolIfExists': { BoolIfExists: { 'aws:SecureTransport': 'true' } },
  'BinaryEquals': { BinaryEquals: { 'aws:SourceVpc': 'dnBjLTEyMzQ=' } },
  'IpAddress': { IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '192.0.2.7'] } },
  'IpAddress v6': { IpAddress: { 'aws:SourceIp': '2001:db8::/32' } },
  'NotIpAddress': { NotIpAddress: { 'aws:SourceIp': '203.0.113.0/24' } },
  'ArnEquals': { ArnEquals: { 'aws:SourceArn': RULE } },
  'ArnLike': { ArnLike: { 'aws:SourceArn': `arn:aws:events:*:${ACCT}:rule/*` } },
  'ArnLike across segments': { ArnLike: { 'aws:SourceArn': 'arn:aws:events:*' } },
  'ArnNotEquals': { ArnNotEquals: { 'aws:SourceArn': RULE } },
  'ArnNotLike': { ArnNotLike: { 'aws:SourceArn': 'arn:aws:sns:*:*:*' } },
  'ArnLikeIfExists': { ArnLikeIfExists: { 'aws:SourceArn': `arn:aws:events:us-east-1:${ACCT}:rule/ics-*` } },
  'Null true': { Null: { 'aws:SourceArn': 'true' } },
  'Null false': { Null: { 'aws:SourceArn': 'false' } },
  'ForAnyValue:StringEquals': { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['env', 'team'] } },
  'ForAllValues:StringEquals': { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['env', 'team'] } },
  'ForAnyValue:StringLike': { 'ForAnyValue:StringLike': { 'aws:TagKeys': 'cost*' } },
  'ForAllValues:StringLike': { 'ForAllValues:StringLike': { 'aws:TagKeys': ['e*', 't*'] } },
  'ForAnyValue:StringNotEquals': { 'ForAnyValue:StringNotEquals': { 'aws:TagKeys': 'env' } },
  'ForAllValues:StringNotEquals': { 'ForAllValues:StringNotEquals': { 'aws:TagKeys': ['secret', 'owner'] } },
  'ForAnyValue:StringEqualsIfExists': { 'ForAnyValue:StringEqualsIfExists': { 'aws:TagKeys': 'env' } },
  'AND across keys': { StringEquals: { 's3:x-amz-server-side-encryption': 'aws:kms', 'aws:ResourceAccount': ACCT } },
  'AND across operators': { Bool: { 'aws:SecureTransport': 'true' }, IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } },
  'key names case-insensitive': { StringEquals: { 'AWS:principalaccount': ACCT } },
  'values case-sensitive': { StringEquals: { 's3:x-amz-server-side-encryption': 'AWS:KMS' } },
};

const CONTEXTS: Record<string, Record<string, string | string[]>> = {
  'empty': {},
  'kms sse, TLS, 10.1.2.3': {
    's3:x-amz-server-side-encryption': 'aws:kms',
    'aws:SecureTransport': 'true',
    'aws:SourceIp': '10.1.2.3',
    'aws:ResourceAccount': ACCT,
    'aws:UserAgent': 'aws-sdk-js/3.600.0',
    'aws:CurrentTime': '2026-01-01T00:00:00Z',
    'aws:EpochTime': '1767225600',
    'aws:SourceArn': RULE,
    'aws:TagKeys': ['env', 'team'],
    's3:max-keys': '50',
    'aws:SourceVpc': 'dnBjLTEyMzQ=',
  },
  'AES256, no TLS, 203.0.113.9': {
    's3:x-amz-server-side-encryption': 'AES256',
    'aws:SecureTransport': 'false',
    'aws:SourceIp': '203.0.113.9',
    'aws:ResourceAccount': OTHER,
    'aws:UserAgent': 'curl/8.0',
    'aws:CurrentTime': '2024-01-01T00:00:00Z',
    'aws:EpochTime': '1600000000',
    'aws:SourceArn': `arn:aws:sns:us-east-1:${ACCT}:t`,
    'aws:TagKeys': ['env', 'secret'],
    's3:max-keys': '1000',
    'aws:SourceVpc': 'dnBjLTk5OTk=',
  },
  'v6, other values': {
    'aws:SourceIp': '2001:db8::1',
    'aws:SecureTransport': 'true',
    'aws:SourceArn': `arn:aws:events:eu-west-1:${ACCT}:rule/x`,
    'aws:TagKeys': ['costcenter'],
    's3:max-keys': '5',
    'aws:CurrentTime': '2031-01-01T00:00:00Z',
    'aws:EpochTime': '1800000000',
    'aws:UserAgent': 'python-requests/2',
    's3:x-amz-server-side-encryption': 'aws:kms:dsse',
  },
  'empty tag list': { 'aws:TagKeys': [] },
};

// Object-level keys (s3:x-amz-server-side-encryption) go with PutObject, bucket-level (s3:max-keys) with ListBucket.
const conditionCases: Case[] = Object.entries(CONDITIONS).flatMap(([cName, condition]) =>
  Object.entries(CONTEXTS).map(([xName, context]) => {
    const listing = JSON.stringify(condition).includes('s3:max-keys');
    const onlyKeysFor = (c: Record<string, string | string[]>) => Object.fromEntries(Object.entries(c).filter(([k]) =>
      (listing ? k !== 's3:x-amz-server-side-encryption' : k !== 's3:max-keys') && !(k === 'aws:TagKeys' && c[k].length === 0)));
    const req = listing ? request(role(), 's3:ListBucket', BUCKET, onlyKeysFor(context)) : request(role(), 's3:PutObject', OBJ, onlyKeysFor(context));
    return identityCase(`${cName} × ${xName}`, [allow(['s3:PutObject', 's3:ListBucket'], [BUCKET, `${BUCKET}/*`], condition)], req);
  }));

// ---------------------------------------------------------------------------------------------------------------
// Resource policies × callers: principals, NotPrincipal, boundaries, SCPs, cross-account, services, anonymous.

const SESSION = sessionArn({ kind: 'role', roleArn: ROLE, sessionName: 'fn' });
const RESOURCE_STATEMENTS: Record<string, PolicyStatement> = {
  'role ARN': { Effect: 'Allow', Principal: { AWS: ROLE }, Action: 'sqs:SendMessage', Resource: QUEUE },
  'session ARN': { Effect: 'Allow', Principal: { AWS: SESSION }, Action: 'sqs:SendMessage', Resource: QUEUE },
  'account ID': { Effect: 'Allow', Principal: { AWS: ACCT }, Action: 'sqs:*', Resource: QUEUE },
  'account root': { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCT}:root` }, Action: 'sqs:*', Resource: QUEUE },
  'foreign account': { Effect: 'Allow', Principal: { AWS: OTHER }, Action: 'sqs:SendMessage', Resource: QUEUE },
  'foreign role': { Effect: 'Allow', Principal: { AWS: FOREIGN_ROLE }, Action: 'sqs:SendMessage', Resource: QUEUE },
  'star': { Effect: 'Allow', Principal: '*', Action: 'sqs:SendMessage', Resource: QUEUE },
  'AWS star': { Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sqs:SendMessage', Resource: QUEUE },
  'no Resource': { Effect: 'Allow', Principal: { AWS: ROLE }, Action: 'sqs:SendMessage' },
  'events with SourceArn': {
    Effect: 'Allow',
    Principal: { Service: 'events.amazonaws.com' },
    Action: 'sqs:SendMessage',
    Resource: QUEUE,
    Condition: { ArnEquals: { 'aws:SourceArn': RULE } },
  },
  'events with SourceAccount': {
    Effect: 'Allow',
    Principal: { Service: 'events.amazonaws.com' },
    Action: 'sqs:SendMessage',
    Resource: QUEUE,
    Condition: { StringEquals: { 'aws:SourceAccount': ACCT } },
  },
  'NotPrincipal allow': { Effect: 'Allow', NotPrincipal: { AWS: OTHER_ROLE }, Action: 'sqs:SendMessage', Resource: QUEUE },
  'star with PrincipalAccount': {
    Effect: 'Allow', Principal: '*', Action: 'sqs:SendMessage', Resource: QUEUE, Condition: { StringEquals: { 'aws:PrincipalAccount': ACCT } },
  },
  'deny role': { Effect: 'Deny', Principal: { AWS: ROLE }, Action: 'sqs:*', Resource: QUEUE },
  'deny NotPrincipal session+role+account': {
    Effect: 'Deny', NotPrincipal: { AWS: [SESSION, ROLE, `arn:aws:iam::${ACCT}:root`] }, Action: 'sqs:*', Resource: QUEUE,
  },
  'deny everyone else by PrincipalArn': {
    Effect: 'Deny', Principal: '*', Action: 'sqs:*', Resource: QUEUE, Condition: { ArnNotEquals: { 'aws:PrincipalArn': ROLE } },
  },
};

const IDENTITY_ALLOW = named('inline', allow('sqs:SendMessage', QUEUE));
const BOUNDARY_S3 = named('boundary', allow('s3:*'));
const BOUNDARY_SQS = named('boundary', allow('sqs:*'));
const SCP_ALL = named('FullAWSAccess', allow('*'));
const SCP_NO_SQS = named('deny sqs', allow('*'), deny('sqs:*'));
const SCP_S3_ONLY = named('s3 only', allow('s3:*'));
const SOURCE = { 'aws:SourceArn': RULE, 'aws:SourceAccount': ACCT };

const CALLERS: Record<string, Omit<EvaluationInput, 'resourcePolicy'>> = {
  'role, no identity': { request: request(role(), 'sqs:SendMessage', QUEUE), principalPolicies: { identity: [] } },
  'role, identity': { request: request(role(), 'sqs:SendMessage', QUEUE), principalPolicies: { identity: [IDENTITY_ALLOW] } },
  'role, boundary s3, no identity': { request: request(role(), 'sqs:SendMessage', QUEUE), principalPolicies: { identity: [], boundary: BOUNDARY_S3 } },
  'role, boundary s3, identity': { request: request(role(), 'sqs:SendMessage', QUEUE), principalPolicies: { identity: [IDENTITY_ALLOW], boundary: BOUNDARY_S3 } },
  'role, boundary sqs, no identity': { request: request(role(), 'sqs:SendMessage', QUEUE), principalPolicies: { identity: [], boundary: BOUNDARY_SQS } },
  'role, boundary sqs, identity': { request: request(role(), 'sqs:SendMessage', QUEUE), principalPolicies: { identity: [IDENTITY_ALLOW], boundary: BOUNDARY_SQS } },
  'role, SCP all, identity': { request: request(role(), 'sqs:SendMessage', QUEUE), principalPolicies: { identity: [IDENTITY_ALLOW], scps: [SCP_ALL] } },
  'role, SCP deny sqs': { request: request(role(), 'sqs:SendMessage', QUEUE), principalPolicies: { identity: [IDENTITY_ALLOW], scps: [SCP_ALL, SCP_NO_SQS] } },
  'role, SCP s3 only, no identity': { request: request(role(), 'sqs:SendMessage', QUEUE), principalPolicies: { identity: [], scps: [SCP_S3_ONLY] } },
  'other role, identity': { request: request(role(OTHER_ROLE, 's2'), 'sqs:SendMessage', QUEUE), principalPolicies: { identity: [IDENTITY_ALLOW] } },
  'foreign role, identity': { request: request(role(FOREIGN_ROLE, 'x'), 'sqs:SendMessage', QUEUE), principalPolicies: { identity: [IDENTITY_ALLOW] } },
  'foreign role, no identity': { request: request(role(FOREIGN_ROLE, 'x'), 'sqs:SendMessage', QUEUE), principalPolicies: { identity: [] } },
  'events, matching source': { request: request(SERVICE('events.amazonaws.com'), 'sqs:SendMessage', QUEUE, SOURCE) },
  'events, other source': { request: request(SERVICE('events.amazonaws.com'), 'sqs:SendMessage', QUEUE, { 'aws:SourceArn': `arn:aws:events:us-east-1:${OTHER}:rule/x`, 'aws:SourceAccount': OTHER }) },
  'events, no source': { request: request(SERVICE('events.amazonaws.com'), 'sqs:SendMessage', QUEUE) },
  'sns service': { request: request(SERVICE('sns.amazonaws.com'), 'sqs:SendMessage', QUEUE, SOURCE) },
  'anonymous': { request: request(ANON, 'sqs:SendMessage', QUEUE) },
};

const resourceCases: Case[] = Object.entries(RESOURCE_STATEMENTS).flatMap(([sName, statement]) =>
  Object.entries(CALLERS).map(([cName, caller]) => ({
    name: `${sName} × ${cName}`,
    input: { ...caller, resourcePolicy: named('queue policy', statement, ...(statement.Effect === 'Deny' ? [{ Effect: 'Allow', Principal: '*', Action: 'sqs:*', Resource: QUEUE } as PolicyStatement] : [])) },
  })));
const noResourcePolicyCases: Case[] = Object.entries(CALLERS).map(([cName, caller]) => ({ name: `no resource policy × ${cName}`, input: caller }));

// ---------------------------------------------------------------------------------------------------------------
// Shapes the library synthesizes.

/** CDK's `enforceSSL`: Deny s3:* when aws:SecureTransport is false. */
const TLS_ONLY = named('bucket policy', {
  Sid: 'DenyInsecure',
  Effect: 'Deny',
  Principal: { AWS: '*' },
  Action: 's3:*',
  Resource: [BUCKET, `${BUCKET}/*`],
  Condition: { Bool: { 'aws:SecureTransport': 'false' } },
});
const S3_RW = named('inline', allow(['s3:GetObject*', 's3:PutObject', 's3:List*'], [BUCKET, `${BUCKET}/*`]));
const KEY_POLICY_ACCOUNT = named('key policy', {
  Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCT}:root` }, Action: 'kms:*', Resource: '*',
});
const KEY_POLICY_ROLE = named('key policy', {
  Sid: 'AllowRoleViaS3',
  Effect: 'Allow',
  Principal: { AWS: ROLE },
  Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
  Resource: '*',
  Condition: { StringEquals: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' } },
});
const KMS_IDENTITY = named('inline', allow(['kms:Decrypt', 'kms:GenerateDataKey'], KEY, { StringEquals: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' } }));
const VIA_S3 = { 'kms:ViaService': 's3.us-east-1.amazonaws.com' };

const shapeCases: Case[] = [
  ...['true', 'false'].flatMap((tls) => ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'].map((action) => ({
    name: `TLS-only bucket × ${action} × SecureTransport ${tls}`,
    input: { request: request(role(), action, OBJ, { 'aws:SecureTransport': tls }), principalPolicies: { identity: [S3_RW] }, resourcePolicy: TLS_ONLY },
  }))),
  { name: 'TLS-only bucket × anonymous', input: { request: request(ANON, 's3:GetObject', OBJ, { 'aws:SecureTransport': 'true' }), resourcePolicy: TLS_ONLY } },
  { name: 'public read × anonymous', input: { request: request(ANON, 's3:GetObject', OBJ), resourcePolicy: named('bucket policy', { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `${BUCKET}/in/*` }) } },
  { name: 'public read AWS:* × anonymous', input: { request: request(ANON, 's3:GetObject', OBJ), resourcePolicy: named('bucket policy', { Effect: 'Allow', Principal: { AWS: '*' }, Action: 's3:GetObject', Resource: `${BUCKET}/*` }) } },
  { name: 'public read × anonymous other prefix', input: { request: request(ANON, 's3:GetObject', `${BUCKET}/out/x`), resourcePolicy: named('bucket policy', { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `${BUCKET}/in/*` }) } },
  // KMS: the key policy must allow.
  ...[
    ['identity only, no key policy', [KMS_IDENTITY], undefined, VIA_S3],
    ['identity + key policy delegating to the account', [KMS_IDENTITY], KEY_POLICY_ACCOUNT, VIA_S3],
    ['key policy delegating, no identity', [], KEY_POLICY_ACCOUNT, VIA_S3],
    ['key policy naming the role, no identity', [], KEY_POLICY_ROLE, VIA_S3],
    ['key policy naming the role, not via S3', [], KEY_POLICY_ROLE, { 'kms:ViaService': 'sqs.us-east-1.amazonaws.com' }],
    ['key policy naming the role, no ViaService', [KMS_IDENTITY], KEY_POLICY_ROLE, {}],
    ['identity not via S3 + delegating key policy', [KMS_IDENTITY], KEY_POLICY_ACCOUNT, {}],
  ].flatMap(([name, identity, keyPolicy, context]) => ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:Encrypt'].map((action) => ({
    name: `KMS ${name as string} × ${action}`,
    input: {
      request: request(role(), action, KEY, context as Record<string, string>),
      principalPolicies: { identity: identity as NamedPolicy[] },
      resourcePolicy: keyPolicy as NamedPolicy | undefined,
      keyPolicyRequired: true,
    },
  }))),
  ...[undefined, BOUNDARY_S3, named('boundary', allow('kms:*'))].map((boundary, i) => ({
    name: `KMS key policy naming the role × boundary #${i}`,
    input: { request: request(role(), 'kms:Decrypt', KEY, VIA_S3), principalPolicies: { identity: [], boundary }, resourcePolicy: KEY_POLICY_ROLE, keyPolicyRequired: true },
  })),
  ...[undefined, BOUNDARY_S3].map((boundary, i) => ({
    name: `KMS delegating key policy × identity × boundary #${i}`,
    input: { request: request(role(), 'kms:Decrypt', KEY, VIA_S3), principalPolicies: { identity: [KMS_IDENTITY], boundary }, resourcePolicy: KEY_POLICY_ACCOUNT, keyPolicyRequired: true },
  })),
  ...[VIA_S3, { 'kms:ViaService': 'sqs.us-east-1.amazonaws.com' }, {}].map((context, i) => ({
    name: `KMS key policy with a Deny unless via S3 × context #${i}`,
    input: {
      request: request(role(), 'kms:Decrypt', KEY, context),
      principalPolicies: { identity: [named('inline', allow('kms:Decrypt', KEY))] },
      keyPolicyRequired: true,
      resourcePolicy: named('key policy', (KEY_POLICY_ACCOUNT.document.Statement as PolicyStatement[])[0], {
        Effect: 'Deny', Principal: '*', Action: 'kms:Decrypt', Resource: '*', Condition: { StringNotEquals: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' } },
      }),
    },
  })),
  {
    name: 'logs via AWSLambdaBasicExecutionRole',
    input: { request: request(role(), 'logs:CreateLogStream', LOG_GROUP), principalPolicies: { identity: [{ name: 'AWS managed: AWSLambdaBasicExecutionRole', document: AWS_MANAGED_POLICIES['service-role/AWSLambdaBasicExecutionRole'] }] } },
  },
];

describe('evaluate agrees with the oracle (@cloud-copilot/iam-simulate)', () => {
  test('the corpus has a few hundred cases', () => {
    expect(crossCases.length + conditionCases.length + resourceCases.length + noResourcePolicyCases.length + shapeCases.length).toBeGreaterThan(500);
  });
  test('actions, resources, NotAction/NotResource, wildcards, variables, explicit deny', async () => {
    expect(await disagreements(crossCases)).toEqual([]);
  });
  test('every condition operator, IfExists, ForAnyValue/ForAllValues, Null, negation on missing keys', async () => {
    expect(await disagreements(conditionCases)).toEqual([]);
  });
  test('resource policies: principals, boundaries, SCPs, cross-account, services, anonymous', async () => {
    expect(await disagreements([...resourceCases, ...noResourcePolicyCases])).toEqual([]);
  });
  test('shapes the library synthesizes: TLS-only bucket, KMS key policies, AWSLambdaBasicExecutionRole', async () => {
    expect(await disagreements(shapeCases)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Cases the oracle cannot judge.

describe('evaluate, beyond the oracle', () => {
  const ENCRYPTION_CONTEXT_KEY = named('key policy', {
    Sid: 'AllowViaS3ForTheBucket',
    Effect: 'Allow',
    Principal: { AWS: ROLE },
    Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
    Resource: '*',
    Condition: { StringEquals: { 'kms:ViaService': 's3.us-east-1.amazonaws.com', 'kms:EncryptionContext:aws:s3:arn': BUCKET } },
  });
  const kms = (context: Record<string, string>) => evaluate({
    request: request(role(), 'kms:GenerateDataKey', KEY, context), principalPolicies: { identity: [] }, resourcePolicy: ENCRYPTION_CONTEXT_KEY, keyPolicyRequired: true,
  });

  // The oracle drops kms:EncryptionContext:* keys. With an S3 Bucket Key the encryption context is the bucket ARN, without
  // it the object ARN (S3 User Guide, "Configuring your bucket to use an S3 Bucket Key with SSE-KMS for new objects").
  test('kms:EncryptionContext: the bucket ARN (bucket key) matches, the object ARN does not', () => {
    expect(kms({ ...VIA_S3, 'kms:EncryptionContext:aws:s3:arn': BUCKET }).allowed).toBe(true);
    expect(kms({ ...VIA_S3, 'kms:EncryptionContext:aws:s3:arn': OBJ })).toMatchObject({ allowed: false, reason: 'ImplicitDeny', missing: ['key'] });
    expect(kms({ ...VIA_S3 }).allowed).toBe(false);
  });

  // The oracle reads a `*` in the request's resource as a pattern to simulate; for AWS it is a character of the key.
  test('${*} matches a literal asterisk only', () => {
    const policy = named('inline', allow('s3:GetObject', `${BUCKET}/in/\${*}`));
    const get = (key: string) => evaluate({ request: request(role(), 's3:GetObject', `${BUCKET}/${key}`), principalPolicies: { identity: [policy] } });
    expect(get('in/*').allowed).toBe(true);
    expect(get('in/a.jpg').allowed).toBe(false);
  });

  test('fills aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalType, aws:userid and aws:PrincipalServiceName', () => {
    const cond = (c: PolicyConditions) => named('queue policy', { Effect: 'Allow', Principal: '*', Action: 'sqs:SendMessage', Resource: QUEUE, Condition: c });
    const bare = (principal: CallPrincipal, c: PolicyConditions) =>
      evaluate({ request: { principal, action: 'sqs:SendMessage', resource: QUEUE, resourceAccount: ACCT, context: {} }, principalPolicies: { identity: [] }, resourcePolicy: cond(c) }).allowed;
    expect(bare(role(), { ArnEquals: { 'aws:PrincipalArn': ROLE }, StringEquals: { 'aws:PrincipalAccount': ACCT, 'aws:PrincipalType': 'AssumedRole' } })).toBe(true);
    expect(bare(role(), { StringLike: { 'aws:userid': 'AROA*:fn' } })).toBe(true);
    expect(bare(SERVICE('events.amazonaws.com'), { StringEquals: { 'aws:PrincipalServiceName': 'events.amazonaws.com' } })).toBe(true);
    expect(bare(ANON, { Null: { 'aws:PrincipalArn': 'true' } })).toBe(true);
  });

  test('a statement whose variable has no value and no default is invalid, Allow and Deny alike', () => {
    const identity = [named('inline', allow('s3:*'), deny('s3:*', `${BUCKET}/\${aws:PrincipalTag/team}/*`))];
    expect(evaluate({ request: request(role(), 's3:GetObject', OBJ), principalPolicies: { identity } }).allowed).toBe(true);
  });

  test('boundary: a grant to the role ARN is limited by it, a grant to the session is not', () => {
    const input = (AWS: string): EvaluationInput => ({
      request: request(role(), 'sqs:SendMessage', QUEUE),
      principalPolicies: { identity: [], boundary: BOUNDARY_S3 },
      resourcePolicy: named('queue policy', { Effect: 'Allow', Principal: { AWS }, Action: 'sqs:SendMessage', Resource: QUEUE }),
    });
    expect(evaluate(input(ROLE))).toMatchObject({ allowed: false, missing: ['boundary'] });
    expect(evaluate(input(SESSION))).toMatchObject({ allowed: true, allowedBy: [{ policy: 'queue policy', statement: '#1', kind: 'resource' }] });
  });

  test('AccessDenied messages in AWS wording', () => {
    const req = request(role(), 's3:GetObject', OBJ);
    const msg = (input: Omit<EvaluationInput, 'request'>) => denialMessage(req, evaluate({ request: req, ...input }));
    const head = `User: arn:aws:sts::${ACCT}:assumed-role/FnRole/fn is not authorized to perform: s3:GetObject on resource: ${OBJ}`;
    expect(msg({ principalPolicies: { identity: [] } })).toBe(`${head} because no identity-based policy allows the s3:GetObject action`);
    expect(msg({ principalPolicies: { identity: [S3_RW], boundary: BOUNDARY_SQS } })).toBe(`${head} because no permissions boundary allows the s3:GetObject action`);
    expect(msg({ principalPolicies: { identity: [S3_RW], scps: [SCP_NO_SQS, named('sqs only', allow('sqs:*'))] } }))
      .toBe(`${head} because no service control policy allows the s3:GetObject action`);
    expect(msg({ principalPolicies: { identity: [S3_RW, named('deny', deny('s3:GetObject'))] } })).toBe(`${head} with an explicit deny in an identity-based policy`);
    const plainHttp = request(role(), 's3:GetObject', OBJ, { 'aws:SecureTransport': 'false' });
    expect(denialMessage(plainHttp, evaluate({ request: plainHttp, principalPolicies: { identity: [S3_RW] }, resourcePolicy: TLS_ONLY })))
      .toBe(`${head} with an explicit deny in a resource-based policy`);
    expect(msg({ principalPolicies: { identity: [S3_RW], boundary: named('boundary', allow('*'), deny('s3:*')) } })).toBe(`${head} with an explicit deny in a permissions boundary`);
    const foreign = request(role(FOREIGN_ROLE, 'x'), 's3:GetObject', OBJ);
    expect(denialMessage(foreign, evaluate({ request: foreign, principalPolicies: { identity: [S3_RW] } })))
      .toBe(`User: arn:aws:sts::${OTHER}:assumed-role/Foreign/x is not authorized to perform: s3:GetObject on resource: ${OBJ} because no resource-based policy allows the s3:GetObject action`);
    const events = request(SERVICE('events.amazonaws.com'), 'sqs:SendMessage', QUEUE);
    expect(denialMessage(events, evaluate({ request: events }))).toMatch(/^User: events\.amazonaws\.com .* because no resource-based policy allows the sqs:SendMessage action$/);
  });

  test('...IfExists on an absent key is true, with ForAnyValue too (Condition operators, ...IfExists)', () => {
    const input: EvaluationInput = {
      request: request(role(), 's3:PutObject', OBJ),
      principalPolicies: { identity: [named('inline', allow('s3:PutObject', '*', CONDITIONS['ForAnyValue:StringEqualsIfExists']))] },
    };
    expect(evaluate(input).allowed).toBe(true);
  });

  test('ArnLike compares the six parts one by one', () => {
    const input = (pattern: string, arn: string): EvaluationInput => ({
      request: request(role(), 's3:GetObject', OBJ, { 'aws:SourceArn': arn }),
      principalPolicies: { identity: [named('inline', allow('s3:GetObject', '*', { ArnLike: { 'aws:SourceArn': pattern } }))] },
    });
    expect(evaluate(input('arn:aws:events:*:*:rule/*', RULE)).allowed).toBe(true);
    expect(evaluate(input('arn:aws:events:*:rule/*', RULE)).allowed).toBe(false);
    expect(evaluate(input('arn:aws:logs:*:*:log-group:/aws/lambda/*', LOG_GROUP)).allowed).toBe(true);
  });
});
