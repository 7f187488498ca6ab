import { awsManagedPolicy } from './aws-managed-policies';
import { evaluate } from './evaluate';
import { AuthorizationRequest, CallPrincipal, Decision, NamedPolicy, PolicyDocument, PolicyStatement } from './model';
import { CfnTemplate, LOCAL_ACCOUNT, LocalAccount, resolveIntrinsics, resourceArn } from '../template-resolver';

/** Policies of resources the template does not hold (a bucket or key you bring), by the resource's ARN. */
export interface ExternalPolicies {
  /** Bucket policies by bucket ARN. @default none: a bucket with no policy */
  readonly buckets?: Record<string, PolicyDocument>;
  /** Key policies by key ARN. @default the default key policy, which delegates to the account (`kms:*` for the root) */
  readonly keys?: Record<string, PolicyDocument>;
  /** Topic, queue, function or event bus policies by ARN. @default none */
  readonly other?: Record<string, PolicyDocument>;
  /**
   * How buckets (by bucket ARN), topics or queues you bring are encrypted with KMS: S3, SNS and SQS then ask KMS with
   * the caller's credentials. @default not encrypted with KMS
   */
  readonly encryption?: Record<string, Encryption>;
}

export interface TemplatePoliciesOptions {
  /** Account and region the template is deployed to. @default read from the template's literal ARNs, else the kit's */
  readonly account?: LocalAccount;
  /** A permissions boundary put on every role of the template (a stack-wide boundary). @default the roles' own */
  readonly boundary?: PolicyDocument;
  /** Service control policies of the account; each must allow. @default none */
  readonly scps?: readonly PolicyDocument[];
  readonly external?: ExternalPolicies;
}

/** How a bucket, topic or queue encrypts: the KMS key S3, SNS or SQS calls with the requester's credentials. */
export interface Encryption {
  readonly keyArn: string;
  /** S3 Bucket Keys: the encryption context is the bucket ARN, not the object ARN. */
  readonly bucketKey?: boolean;
}

/** A role of the template with what applies to its calls. */
export interface TemplateRole {
  readonly logicalId: string;
  readonly arn: string;
  readonly identity: NamedPolicy[];
  readonly boundary?: NamedPolicy;
}

/**
 * The template's principals and policies, and AWS's decision for a request against them: identity policies of each
 * role (inline, `AWS::IAM::Policy`, customer and AWS managed), its permissions boundary, SCPs, and each resource's own
 * policy (bucket, key, topic, queue, Lambda permissions, event bus). Resources the template does not hold get the
 * policies given in `external`, else AWS's defaults, and `assumptions` says which were assumed.
 */
export class TemplatePolicies {
  public readonly account: LocalAccount;
  public readonly roles = new Map<string, TemplateRole>();
  /** Resource policies by resource ARN (for a bucket, the bucket's ARN). */
  private readonly resourcePolicies = new Map<string, NamedPolicy>();
  private readonly encryption = new Map<string, Encryption>();
  private readonly keysInTemplate = new Set<string>();
  private readonly scps: NamedPolicy[];
  private readonly decisions = new Map<string, Decision>();
  /** What the kit assumed of resources outside the template, one line each. */
  public readonly assumptions = new Set<string>();

  constructor(template: CfnTemplate, private readonly options: TemplatePoliciesOptions = {}) {
    const literal = templateAccount(template);
    this.account = options.account ?? literal;
    this.scps = (options.scps ?? []).map((document, i) => ({ name: `service control policy #${i + 1}`, document }));
    for (const [arn, encryption] of Object.entries(options.external?.encryption ?? {})) this.encryption.set(arn, encryption);
    const resources = Object.entries(template.Resources);
    // The local runner runs a stack synthesized for another account in its own: the literal account and region in
    // the template's ARNs are read as the runner's, as its pseudo parameters are.
    const localize = literal.account === this.account.account ? (v: any) => v : (v: any) => mapStrings(v, (text) => text
      .split(`:${literal.region}:${literal.account}:`).join(`:${this.account.region}:${this.account.account}:`)
      .split(`::${literal.account}:`).join(`::${this.account.account}:`)
      .replace(new RegExp(`^${literal.account}$`), this.account.account));
    const resolve = (v: unknown) => localize(resolveIntrinsics(v, template, this.account));
    const arnOf = (id: string) => resourceArn(id, template.Resources[id].Type, this.account);
    const managed = new Map<string, NamedPolicy>();
    for (const [id, r] of resources) {
      if (r.Type === 'AWS::IAM::ManagedPolicy') managed.set(resolve({ Ref: id }), { name: id, document: resolve(r.Properties.PolicyDocument) });
    }
    const managedPolicy = (arn: string, role: string): NamedPolicy | undefined => {
      const document = managed.get(arn)?.document ?? awsManagedPolicy(arn);
      if (document) return { name: managed.get(arn)?.name ?? `AWS managed: ${arn.split('/').pop()}`, document };
      const given = options.external?.other?.[arn];
      if (given) return { name: arn, document: given };
      this.assumptions.add(`role ${role}: managed policy ${arn} is unknown to the kit and counts as allowing nothing (pass it in external.other)`);
      return undefined;
    };
    for (const [id, r] of resources) {
      if (r.Type !== 'AWS::IAM::Role') continue;
      const p = r.Properties ?? {};
      const identity: NamedPolicy[] = (p.Policies ?? []).map((x: any) => ({ name: `${id}/${x.PolicyName}`, document: resolve(x.PolicyDocument) }));
      for (const arn of resolve(p.ManagedPolicyArns ?? []) as string[]) {
        const policy = managedPolicy(arn, id);
        if (policy) identity.push(policy);
      }
      const boundaryArn = p.PermissionsBoundary !== undefined ? String(resolve(p.PermissionsBoundary)) : undefined;
      const boundary = options.boundary ? { name: 'permissions boundary', document: options.boundary }
        : boundaryArn ? managedPolicy(boundaryArn, id) : undefined;
      this.roles.set(id, { logicalId: id, arn: arnOf(id), identity, boundary });
    }
    const refIds = (v: unknown): string[] => ([] as unknown[]).concat(v ?? []).flatMap((x: any) => (typeof x?.Ref === 'string' ? [x.Ref] : []));
    for (const [id, r] of resources) {
      const p = r.Properties ?? {};
      switch (r.Type) {
        case 'AWS::IAM::Policy':
        case 'AWS::IAM::ManagedPolicy':
          if (r.Type === 'AWS::IAM::Policy' || p.Roles) {
            for (const role of refIds(p.Roles)) this.roles.get(role)?.identity.push({ name: id, document: resolve(p.PolicyDocument) });
          }
          break;
        case 'AWS::S3::BucketPolicy':
          this.addResourcePolicy(arnOf(refIds(p.Bucket)[0] ?? '') || `arn:${this.account.partition}:s3:::${resolve(p.Bucket)}`, id, resolve(p.PolicyDocument));
          break;
        case 'AWS::SNS::TopicPolicy':
          for (const topic of resolve(p.Topics) as string[]) this.addResourcePolicy(topic, id, resolve(p.PolicyDocument));
          break;
        case 'AWS::SNS::TopicInlinePolicy':
          this.addResourcePolicy(resolve(p.TopicArn), id, resolve(p.PolicyDocument));
          break;
        case 'AWS::SQS::QueuePolicy':
          for (const queue of refIds(p.Queues)) this.addResourcePolicy(arnOf(queue), id, resolve(p.PolicyDocument));
          break;
        case 'AWS::Events::EventBusPolicy':
          this.addResourcePolicy(eventBusArn(resolve(p.EventBusName ?? 'default'), this.account), id,
            p.Statement ? { Version: '2012-10-17', Statement: [resolve(p.Statement)] } : resolve(p.Policy));
          break;
        case 'AWS::Lambda::Permission':
          this.addResourcePolicy(functionArn(resolve(p.FunctionName), this.account), id, { Version: '2012-10-17', Statement: [lambdaPermissionStatement(resolve(p))] });
          break;
        case 'AWS::KMS::Key':
          this.keysInTemplate.add(arnOf(id));
          this.addResourcePolicy(arnOf(id), id, resolve(p.KeyPolicy));
          break;
        case 'AWS::S3::Bucket': {
          const rule = p.BucketEncryption?.ServerSideEncryptionConfiguration?.[0];
          const sse = rule?.ServerSideEncryptionByDefault;
          if (sse?.SSEAlgorithm === 'aws:kms' || sse?.SSEAlgorithm === 'aws:kms:dsse') {
            this.encryption.set(arnOf(id), { keyArn: this.keyArn(resolve(sse.KMSMasterKeyID)), bucketKey: rule.BucketKeyEnabled === true });
          }
          break;
        }
        case 'AWS::SNS::Topic':
        case 'AWS::SQS::Queue':
          if (p.KmsMasterKeyId !== undefined) this.encryption.set(arnOf(id), { keyArn: this.keyArn(resolve(p.KmsMasterKeyId)) });
          break;
        default:
          break;
      }
    }
  }

  /** The role with this logical ID. */
  public role(logicalId: string): TemplateRole {
    const role = this.roles.get(logicalId);
    if (!role) throw new Error(`No role ${logicalId} in the template`);
    return role;
  }

  /** The role whose ARN this is, if the template holds it. */
  public roleByArn(arn: string): TemplateRole | undefined {
    return [...this.roles.values()].find((r) => r.arn === arn);
  }

  /** How a bucket (by bucket ARN), topic or queue (by ARN) of the template is encrypted with KMS, if it is. */
  public encryptionOf(arn: string): Encryption | undefined {
    return this.encryption.get(arn);
  }

  /** AWS's decision for a request against the template's policies. */
  public authorize(request: AuthorizationRequest): Decision {
    // Policies do not change during a run: the same request gets the same decision (KMS, SNS, queue calls repeat).
    const id = JSON.stringify(request);
    const known = this.decisions.get(id);
    if (known) return known;
    const decision = this.decide(request);
    if (this.decisions.size >= 10_000) this.decisions.clear();
    this.decisions.set(id, decision);
    return decision;
  }

  private decide(request: AuthorizationRequest): Decision {
    const service = request.action.split(':')[0].toLowerCase();
    const resourcePolicy = this.resourcePolicyFor(service, request.resource);
    const principal = request.principal;
    const role = principal.kind === 'role' ? this.roleByArn(principal.roleArn) : undefined;
    if (principal.kind === 'role' && !role) this.assumptions.add(`role ${principal.roleArn} is not in the template: it has no identity policies here`);
    return evaluate({
      request,
      principalPolicies: principal.kind === 'role' ? { identity: role?.identity ?? [], boundary: role?.boundary, scps: this.scps } : undefined,
      resourcePolicy,
      keyPolicyRequired: service === 'kms',
    });
  }

  private resourcePolicyFor(service: string, resource: string): NamedPolicy | undefined {
    const external = this.options.external;
    if (service === 's3') {
      const bucket = resource.split('/')[0];
      const given = external?.buckets?.[bucket];
      return this.resourcePolicies.get(bucket) ?? (given ? { name: `bucket policy of ${bucket}`, document: given } : undefined);
    }
    if (service === 'kms') {
      const own = this.resourcePolicies.get(resource);
      if (own) return own;
      const given = external?.keys?.[resource];
      if (given) return { name: `key policy of ${resource}`, document: given };
      if (!this.keysInTemplate.has(resource)) this.assumptions.add(`key ${resource} is not in the template: its key policy is assumed to be the default, which delegates to the account`);
      return { name: `default key policy of ${resource}`, document: defaultKeyPolicy(this.account) };
    }
    const arn = service === 'lambda' ? resource.replace(/^(arn:[^:]+:lambda:[^:]+:[^:]+:function:[^:]+):.*$/, '$1') : resource;
    const given = external?.other?.[arn];
    return this.resourcePolicies.get(arn) ?? (given ? { name: `policy of ${arn}`, document: given } : undefined);
  }

  private addResourcePolicy(arn: string, name: string, document: PolicyDocument): void {
    const existing = this.resourcePolicies.get(arn);
    // Lambda permissions and several TopicPolicy resources add up to one policy of the resource.
    const statements = (d: PolicyDocument) => ([] as PolicyStatement[]).concat(d.Statement);
    this.resourcePolicies.set(arn, existing
      ? { name: `${existing.name}+${name}`, document: { Version: '2012-10-17', Statement: [...statements(existing.document), ...statements(document)] } }
      : { name, document });
  }

  /** A key given as an ARN, an alias or a key ID: the key's ARN (aliases are kept as written). */
  private keyArn(key: string): string {
    if (key.startsWith('arn:')) return key;
    return `arn:${this.account.partition}:kms:${this.account.region}:${this.account.account}:${key.startsWith('alias/') ? key : `key/${key}`}`;
  }

  /** The principal of a role of the template. */
  public rolePrincipal(logicalId: string, sessionName?: string): CallPrincipal {
    return { kind: 'role', roleArn: this.role(logicalId).arn, sessionName };
  }
}

/** AWS's default key policy: the account's root may do everything, so IAM policies decide (KMS Developer Guide, "Default key policy"). */
export function defaultKeyPolicy(account: LocalAccount): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:${account.partition}:iam::${account.account}:root` }, Action: 'kms:*', Resource: '*' }],
  };
}

/** The statement a Lambda permission adds to the function's resource policy (Lambda Developer Guide, "Resource-based policies"). */
function lambdaPermissionStatement(p: any): PolicyStatement {
  const principal = String(p.Principal);
  const conditions: Record<string, Record<string, unknown>> = {};
  if (p.SourceArn) conditions.ArnLike = { 'aws:SourceArn': p.SourceArn };
  if (p.SourceAccount) conditions.StringEquals = { 'aws:SourceAccount': p.SourceAccount };
  return {
    Effect: 'Allow',
    Action: p.Action,
    Resource: '*',
    Principal: principal.endsWith('.amazonaws.com') ? { Service: principal } : principal === '*' ? '*' : { AWS: principal },
    ...(Object.keys(conditions).length > 0 ? { Condition: conditions } : {}),
  };
}

function functionArn(nameOrArn: string, a: LocalAccount): string {
  if (nameOrArn.startsWith('arn:')) return nameOrArn.split(':').slice(0, 7).join(':');
  return `arn:${a.partition}:lambda:${a.region}:${a.account}:function:${nameOrArn}`;
}

export function eventBusArn(nameOrArn: string, a: LocalAccount): string {
  return nameOrArn.startsWith('arn:') ? nameOrArn : `arn:${a.partition}:events:${a.region}:${a.account}:event-bus/${nameOrArn}`;
}

/**
 * The account and region a template names in its literal ARNs (a stack with an explicit `env`), else the kit's own:
 * policies compare ARNs, so the kit must use the account the template was synthesized for.
 */
export function templateAccount(template: CfnTemplate): LocalAccount {
  const text = JSON.stringify(template.Resources);
  // ARNs are often split around `{"Ref":"AWS::Partition"}`: look for the account and region parts themselves.
  const accounts = [...new Set([...text.matchAll(/[:"](\d{12})[:"]/g)].map((m) => m[1]))];
  const regions = [...new Set([...text.matchAll(/:([a-z]{2}(?:-gov)?-[a-z]+-\d):\d{12}:/g)].map((m) => m[1]))];
  if (accounts.length !== 1) return LOCAL_ACCOUNT;
  return { partition: LOCAL_ACCOUNT.partition, account: accounts[0], region: regions.length === 1 ? regions[0] : LOCAL_ACCOUNT.region };
}

function mapStrings(value: any, f: (text: string) => string): any {
  if (typeof value === 'string') return f(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, f));
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, f)]));
  return value;
}
