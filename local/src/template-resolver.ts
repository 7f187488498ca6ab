/**
 * Resolves the CloudFormation intrinsics in a synthesized template to concrete local values, so the
 * state machine definition and function environments can run outside AWS. Physical names are
 * derived from logical IDs (stable, readable); pseudo parameters get fixed local values.
 */

export interface LocalAccount {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
}

export const LOCAL_ACCOUNT: LocalAccount = { partition: 'aws', region: 'us-east-1', account: '123456789012' };

export interface CfnTemplate {
  readonly Resources: Record<string, { Type: string; Properties?: any }>;
  readonly Parameters?: Record<string, unknown>;
}

/** Physical name of a resource created by the template: its logical ID, lower-cased where the service requires it. */
export function physicalName(logicalId: string, type: string): string {
  return type === 'AWS::S3::Bucket' ? logicalId.toLowerCase() : logicalId;
}

/** The ARN a resource would have. */
export function resourceArn(logicalId: string, type: string, acct: LocalAccount = LOCAL_ACCOUNT): string {
  const name = physicalName(logicalId, type);
  const { partition: p, region: r, account: a } = acct;
  switch (type) {
    case 'AWS::S3::Bucket': return `arn:${p}:s3:::${name}`;
    case 'AWS::SNS::Topic': return `arn:${p}:sns:${r}:${a}:${name}`;
    case 'AWS::SQS::Queue': return `arn:${p}:sqs:${r}:${a}:${name}`;
    case 'AWS::Lambda::Function': return `arn:${p}:lambda:${r}:${a}:function:${name}`;
    case 'AWS::StepFunctions::StateMachine': return `arn:${p}:states:${r}:${a}:stateMachine:${name}`;
    case 'AWS::Events::EventBus': return `arn:${p}:events:${r}:${a}:event-bus/${name}`;
    case 'AWS::Logs::LogGroup': return `arn:${p}:logs:${r}:${a}:log-group:${name}:*`;
    case 'AWS::IAM::Role': return `arn:${p}:iam::${a}:role/${name}`;
    case 'AWS::KinesisFirehose::DeliveryStream': return `arn:${p}:firehose:${r}:${a}:deliverystream/${name}`;
    case 'AWS::KMS::Key': return `arn:${p}:kms:${r}:${a}:key/${name}`;
    case 'AWS::DynamoDB::Table': return `arn:${p}:dynamodb:${r}:${a}:table/${name}`;
    case 'AWS::Events::Rule': return `arn:${p}:events:${r}:${a}:rule/${name}`;
    case 'AWS::Cognito::UserPool': return `arn:${p}:cognito-idp:${r}:${a}:userpool/${name}`;
    // SageMaker writes endpoint names lower-case in ARNs.
    case 'AWS::SageMaker::Endpoint': return `arn:${p}:sagemaker:${r}:${a}:endpoint/${name.toLowerCase()}`;
    default: return `arn:${p}:${type.split('::')[1]?.toLowerCase() ?? 'unknown'}:${r}:${a}:${name}`;
  }
}

/** What `Ref` returns for a resource type (ARN for topics and state machines, URL for queues, else the name). */
function refValue(logicalId: string, type: string, acct: LocalAccount): string {
  switch (type) {
    case 'AWS::SNS::Topic':
    case 'AWS::StepFunctions::StateMachine':
      return resourceArn(logicalId, type, acct);
    case 'AWS::SQS::Queue':
      return `http://sqs.local/${acct.account}/${logicalId}`;
    default:
      return physicalName(logicalId, type);
  }
}

/** Resolves every intrinsic in `value` against `template`. */
export function resolveIntrinsics(value: unknown, template: CfnTemplate, acct: LocalAccount = LOCAL_ACCOUNT): any {
  const resolve = (v: unknown): any => resolveIntrinsics(v, template, acct);
  if (Array.isArray(value)) return value.map(resolve);
  if (typeof value !== 'object' || value === null) return value;
  const obj = value as Record<string, any>;
  const keys = Object.keys(obj);
  if (keys.length === 1) {
    const [fn] = keys;
    const arg = obj[fn];
    switch (fn) {
      case 'Ref': {
        const pseudo: Record<string, string> = {
          'AWS::Partition': acct.partition,
          'AWS::Region': acct.region,
          'AWS::AccountId': acct.account,
          'AWS::URLSuffix': 'amazonaws.com',
          'AWS::StackName': 'LocalStack',
        };
        if (pseudo[arg]) return pseudo[arg];
        const res = template.Resources[arg];
        if (!res) throw new Error(`Cannot resolve Ref to ${arg}: not a resource of the template`);
        return refValue(arg, res.Type, acct);
      }
      case 'Fn::GetAtt': {
        const [id, attr] = Array.isArray(arg) ? arg : String(arg).split('.');
        const res = template.Resources[id];
        if (!res) throw new Error(`Cannot resolve Fn::GetAtt of ${id}: not a resource of the template`);
        if (attr === 'Arn' || attr === 'TopicArn' || attr === 'QueueArn' || attr === 'EndpointArn') return resourceArn(id, res.Type, acct);
        if (attr === 'Name' || attr === 'TopicName' || attr === 'QueueName' || attr === 'EndpointName') return physicalName(id, res.Type);
        return `${physicalName(id, res.Type)}.${attr}`;
      }
      case 'Fn::Join': {
        const [sep, parts] = arg;
        return (resolve(parts) as unknown[]).join(sep);
      }
      case 'Fn::Select': {
        const [index, list] = arg;
        return resolve(list)[Number(resolve(index))];
      }
      case 'Fn::Split': {
        const [sep, source] = arg;
        return String(resolve(source)).split(sep);
      }
      case 'Fn::Sub': {
        const [text, vars] = Array.isArray(arg) ? arg : [arg, {}];
        return String(text).replace(/\$\{([^}!]+)\}/g, (_m, name: string) => {
          if (vars[name] !== undefined) return String(resolve(vars[name]));
          const [id, attr] = name.split('.');
          return String(resolve(attr ? { 'Fn::GetAtt': [id, attr] } : { Ref: id }));
        });
      }
      default:
        break;
    }
  }
  return Object.fromEntries(keys.map((k) => [k, resolve(obj[k])]));
}

/** Logical ID of the only resource of `type` whose ID starts with `prefix` (or the only one of its type). */
export function findResource(template: CfnTemplate, type: string, prefix = ''): string {
  const ids = Object.keys(template.Resources).filter((id) => template.Resources[id].Type === type && id.startsWith(prefix));
  if (ids.length !== 1) {
    throw new Error(`Expected one ${type}${prefix ? ` starting with ${prefix}` : ''} in the template, found ${ids.length}: ${ids.join(', ')}`);
  }
  return ids[0];
}

/** The state machine's Amazon States Language definition with every intrinsic resolved. */
export function stateMachineDefinition(template: CfnTemplate, logicalId: string, acct: LocalAccount = LOCAL_ACCOUNT): any {
  const props = template.Resources[logicalId]?.Properties;
  if (!props) throw new Error(`No state machine ${logicalId} in the template`);
  const text = props.DefinitionString !== undefined ? resolveIntrinsics(props.DefinitionString, template, acct) : undefined;
  return text !== undefined ? JSON.parse(text) : resolveIntrinsics(props.Definition, template, acct);
}
