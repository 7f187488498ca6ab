/**
 * IAM wildcards the pipeline's policies may hold (cdk-nag's AwsSolutions-IAM5), each tied to the reason it is
 * acknowledged. A wildcard that matches none of these stays unacknowledged, so a new grant that widens a
 * policy fails the compliance tests instead of being waved through.
 */

/** One Allow statement of a resolved policy document. */
export interface ResolvedStatement {
  readonly Effect?: string;
  readonly Action?: string | string[];
  readonly Resource?: unknown;
}

/** A kind of wildcard the pipeline's policies hold on purpose. */
export interface WildcardAcknowledgement {
  /** The finding as cdk-nag reports it (documentation; `<...>` stands for a resource of the pipeline). */
  readonly finding: string;
  /** Which policies hold it (documentation). */
  readonly appliesTo: string;
  readonly reason: string;
  /** Whether `statement`, which holds `wildcard` (`Action::...` or `Resource::...`), is this case. */
  readonly matches: (statement: ResolvedStatement, wildcard: string) => boolean;
}

const list = (value: unknown): any[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
const actionsOf = (statement: ResolvedStatement): string[] => list(statement.Action);

/** Actions of services without resource-level permissions (IAM requires `Resource: *`). */
export const NO_RESOURCE_LEVEL_ACTIONS = [
  /^xray:(PutTraceSegments|PutTelemetryRecords|GetSamplingRules|GetSamplingTargets|GetSamplingStatisticSummaries)$/,
  /^logs:(CreateLogDelivery|GetLogDelivery|UpdateLogDelivery|DeleteLogDelivery|ListLogDeliveries|PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups)$/,
  /^rekognition:(DetectLabels|DetectModerationLabels)$/,
  /^cloudwatch:(PutMetricData|GetMetricData)$/,
];

/** Object-level S3 actions the pipeline grants on `<bucket>/<prefix>*`. */
const S3_OBJECT_ACTIONS = new Set([
  's3:GetObject', 's3:GetObjectVersion', 's3:GetObjectTagging', 's3:GetObjectVersionTagging',
  's3:PutObject', 's3:PutObjectTagging', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts',
]);

export const WILDCARD_ACKNOWLEDGEMENTS: WildcardAcknowledgement[] = [
  {
    finding: 'AwsSolutions-IAM5[Resource::*]',
    appliesTo: 'functions (X-Ray), state machines (X-Ray, log delivery, Rekognition classifiers)',
    reason: 'X-Ray\'s PutTraceSegments, PutTelemetryRecords and GetSampling*, the CloudWatch Logs log-delivery actions '
      + 'Step Functions logging needs, Rekognition\'s DetectLabels and DetectModerationLabels (without a custom '
      + 'adapter) and CloudWatch PutMetricData (a ClassifierEndpoint\'s instance metrics, limited to SageMaker\'s '
      + 'namespaces by a condition) and GetMetricData (the console\'s chart) have no resource-level permissions: IAM accepts only `*` for them. The statements '
      + 'hold no other action.',
    matches: (statement, wildcard) => wildcard === 'Resource::*'
      && actionsOf(statement).every((a) => NO_RESOURCE_LEVEL_ACTIONS.some((re) => re.test(a))),
  },
  {
    finding: 'AwsSolutions-IAM5[Resource::<bucket ARN>/<prefix>*]',
    appliesTo: 'classify function (read images), summarize function (bulk results), state machines (tag, quarantine, '
      + 'audit records, Distributed Map reader and writer), the audit delivery stream\'s role (audit records and their error prefix)',
    reason: 'Object ARNs under a named bucket and prefix: the keys are the images uploaded at run time. The statements '
      + 'hold only object-level actions (get, tag, put, delete) and the prefix is the narrowest the feature allows '
      + '(`inputPrefix`, the quarantine prefix, the audit prefix and its `-errors/` twin, `bulk-results/`).',
    matches: (statement, wildcard) => /^Resource::[^*]+\/[^*]*\*$/.test(wildcard)
      && actionsOf(statement).every((a) => S3_OBJECT_ACTIONS.has(a)),
  },
  {
    finding: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<region>:<account>:log-group:/aws/sagemaker/Endpoints/*]',
    appliesTo: 'a ClassifierEndpoint\'s execution role, when the endpoint name is generated',
    reason: 'SageMaker writes the endpoint\'s logs to `/aws/sagemaker/Endpoints/<endpoint name>`. A generated name cannot '
      + 'appear in the role\'s policy (the endpoint depends on the role), so the grant covers SageMaker endpoint log '
      + 'groups of the account and region; give `endpointName` to narrow it to one.',
    matches: (statement, wildcard) => /^Resource::arn:<AWS::Partition>:logs:[^:]+:[^:]+:log-group:\/aws\/sagemaker\/Endpoints\/\*$/.test(wildcard)
      && actionsOf(statement).every((a) => a.startsWith('logs:')),
  },
  {
    finding: 'AwsSolutions-IAM5[Resource::<function ARN>:*]',
    appliesTo: 'state machines',
    reason: 'aws-cdk-lib\'s Step Functions Lambda integration grants invoking the function and its versions and aliases '
      + '(`<function ARN>:*`); it names one function the pipeline created.',
    matches: (statement, wildcard) => /^Resource::<[^>]+\.Arn>:\*$/.test(wildcard)
      && actionsOf(statement).every((a) => a === 'lambda:InvokeFunction'),
  },
  {
    finding: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<region>:<account>:execution:<bulk state machine>...*]',
    appliesTo: 'the bulk state machine\'s Distributed Map policy',
    reason: 'A Distributed Map\'s child executions and map runs are named at run time; aws-cdk-lib scopes the grant to '
      + 'executions of the bulk state machine itself.',
    matches: (statement, wildcard) => /^Resource::arn:<AWS::Partition>:states:[^:]+:[^:]+:execution:.*\*$/.test(wildcard)
      && actionsOf(statement).every((a) => a.startsWith('states:')),
  },
];

/**
 * Turns a resolved CloudFormation reference into the flat string cdk-nag reports (a port of cdk-nag's
 * `flattenCfnReference`, Apache-2.0): `{ "Fn::GetAtt": ["B", "Arn"] }` → `<B.Arn>`, `{ "Ref": "P" }` → `<P>`.
 */
export function flattenReference(node: any): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\${/g, '<').replace(/}/g, '>');
  if (node['Fn::Join']) {
    const [delimiter, items] = node['Fn::Join'];
    return (items as any[]).map(flattenReference).join(delimiter);
  }
  if (node['Fn::Sub']) return flattenReference(node['Fn::Sub']);
  if (node['Fn::GetAtt']) {
    const [resource, attribute] = node['Fn::GetAtt'];
    return `<${flattenReference(resource)}.${flattenReference(attribute)}>`;
  }
  if (node['Fn::ImportValue']) return flattenReference(node['Fn::ImportValue']);
  if (node.Ref) return `<${flattenReference(node.Ref)}>`;
  return JSON.stringify(node);
}

/** A wildcard of a policy document and the acknowledgement that covers it, if one does. */
export interface WildcardFinding {
  /** `Action::...` or `Resource::...`, as in cdk-nag's `AwsSolutions-IAM5[...]`. */
  readonly wildcard: string;
  readonly acknowledgement?: WildcardAcknowledgement;
}

/**
 * The wildcards cdk-nag's IAM5 reports for a resolved policy document, each with the acknowledgement that covers
 * every statement holding it (or none).
 */
export function wildcardFindings(document: { Statement?: ResolvedStatement[] }): WildcardFinding[] {
  const holders = new Map<string, ResolvedStatement[]>();
  const add = (wildcard: string, statement: ResolvedStatement) => holders.set(wildcard, [...holders.get(wildcard) ?? [], statement]);
  for (const statement of document.Statement ?? []) {
    if (statement.Effect !== 'Allow') continue;
    for (const action of actionsOf(statement)) if (action.includes('*')) add(`Action::${action}`, statement);
    for (const resource of list(statement.Resource).map(flattenReference)) if (resource.includes('*')) add(`Resource::${resource}`, statement);
  }
  return [...holders].map(([wildcard, statements]) => ({
    wildcard,
    acknowledgement: WILDCARD_ACKNOWLEDGEMENTS.find((ack) => statements.every((s) => ack.matches(s, wildcard))),
  }));
}
