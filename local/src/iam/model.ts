/**
 * The vocabulary of the kit's authorization: policies as IAM writes them, a request as AWS's policy evaluation sees
 * it, and the decision. Shared by the evaluator (evaluate.ts), the template's policies (template-policies.ts), the
 * list of calls each principal makes (calls.ts) and the gate every peer's request passes (gate.ts).
 */

/** A condition block: `{ StringEquals: { 'aws:SourceArn': 'arn:...' } }`. */
export type PolicyConditions = Record<string, Record<string, unknown>>;

/** `"*"`, or `{ AWS: ..., Service: ..., Federated: ..., CanonicalUser: ... }` with a string or a list each. */
export type PolicyPrincipal = '*' | Record<string, string | string[]>;

export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Resource?: string | string[];
  readonly NotResource?: string | string[];
  readonly Principal?: PolicyPrincipal;
  readonly NotPrincipal?: PolicyPrincipal;
  readonly Condition?: PolicyConditions;
}

export interface PolicyDocument {
  readonly Version?: string;
  readonly Id?: string;
  readonly Statement: PolicyStatement | PolicyStatement[];
}

/** A policy and where it comes from (a logical ID, `AWS managed: AWSLambdaBasicExecutionRole`, `boundary`). */
export interface NamedPolicy {
  readonly name: string;
  readonly document: PolicyDocument;
}

/** Who makes a call. */
export type CallPrincipal =
  /** A role's session: a function's execution role, the state machine's role, a delivery stream's role. */
  | { readonly kind: 'role'; readonly roleArn: string; readonly sessionName?: string }
  /** A service acting as itself (`events.amazonaws.com` delivering to a queue, `logs.amazonaws.com`). */
  | { readonly kind: 'service'; readonly service: string }
  /** An unsigned request (what a presigned URL is not). */
  | { readonly kind: 'anonymous' };

/** A request as AWS's policy evaluation sees it. */
export interface AuthorizationRequest {
  readonly principal: CallPrincipal;
  /** `s3:GetObject`, `kms:Decrypt`. */
  readonly action: string;
  /** The resource's ARN (`arn:aws:s3:::bucket/key`), or `*` for actions on no resource. */
  readonly resource: string;
  /** The account that owns the resource. */
  readonly resourceAccount: string;
  /**
   * The request context: the global keys AWS sets (`aws:SecureTransport`, `aws:SourceArn`, `aws:PrincipalArn`...)
   * and the service's own (`kms:ViaService`, `kms:EncryptionContext:aws:s3:arn`, `s3:x-amz-server-side-encryption`).
   * A key that is absent is absent (what `Null` and `...IfExists` test). Multi-valued keys are arrays.
   */
  readonly context: Record<string, string | string[]>;
}

/** What applies to a request beside the resource's own policy. */
export interface PrincipalPolicies {
  /** Identity-based policies of the role: inline, customer managed, AWS managed. */
  readonly identity: readonly NamedPolicy[];
  /** The role's permissions boundary. @default none */
  readonly boundary?: NamedPolicy;
  /** Service control policies that apply to the account (each must allow). @default none */
  readonly scps?: readonly NamedPolicy[];
}

export interface EvaluationInput {
  readonly request: AuthorizationRequest;
  /** The calling role's policies (undefined for a service principal or an anonymous caller). */
  readonly principalPolicies?: PrincipalPolicies;
  /** The resource's own policy (bucket policy, key policy, topic policy, queue policy, Lambda permissions...). */
  readonly resourcePolicy?: NamedPolicy;
  /**
   * KMS keys: the key policy is required (an identity policy alone never allows; it counts only where the key policy
   * delegates to the account).
   * @default false
   */
  readonly keyPolicyRequired?: boolean;
}

/** A kind of policy, as AWS names them in AccessDenied messages. */
export type PolicyKind = 'identity' | 'boundary' | 'scp' | 'resource' | 'key';

/** The statement that decided, for the run's list of denials. */
export interface MatchedStatement {
  readonly policy: string;
  /** The statement's Sid, or its position (`#2`). */
  readonly statement: string;
  /** The kind of policy the statement is in (names the policy type in AccessDenied messages). @default unknown */
  readonly kind?: PolicyKind;
}

export interface Decision {
  readonly allowed: boolean;
  /** `ExplicitDeny`: a Deny statement matched; `ImplicitDeny`: some policy that must allow did not. */
  readonly reason: 'Allowed' | 'ExplicitDeny' | 'ImplicitDeny';
  /** The Deny that matched (ExplicitDeny). */
  readonly deniedBy?: MatchedStatement;
  /** The Allow statements that granted the request. */
  readonly allowedBy: readonly MatchedStatement[];
  /** For an implicit deny: which kinds of policy allowed nothing (`identity`, `boundary`, `scp`, `resource`, `key`). */
  readonly missing: ReadonlyArray<'identity' | 'boundary' | 'scp' | 'resource' | 'key'>;
}
