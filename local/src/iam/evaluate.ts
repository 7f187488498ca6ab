/**
 * AWS's policy evaluation logic for one request: explicit denies, SCPs, the resource (or key) policy, identity
 * policies and the permissions boundary, as the IAM User Guide describes them ("Policy evaluation logic"; "Policy
 * evaluation for requests within a single account"; "Cross-account policy evaluation logic").
 */
import { createHash } from 'node:crypto';
import {
  AuthorizationRequest, CallPrincipal, Decision, EvaluationInput, MatchedStatement, NamedPolicy, PolicyKind,
  PolicyPrincipal, PolicyStatement,
} from './model';

type Context = ReadonlyMap<string, string | string[]>;

/** How a resource-policy statement names the caller: its session directly, its role, or its account. */
type Grant = 'direct' | 'role' | 'account';

interface Match extends MatchedStatement {
  readonly grant?: Grant;
}

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const statements = (p: NamedPolicy): PolicyStatement[] => list(p.document.Statement);

/** `arn:aws:sts::<acct>:assumed-role/<RoleName>/<session>`: the caller a role's session is (RoleName: last path segment). */
export function sessionArn(principal: Extract<CallPrincipal, { kind: 'role' }>): string {
  const [, partition, , , account, resource] = principal.roleArn.split(':');
  const roleName = resource.split('/').pop();
  return `arn:${partition}:sts::${account}:assumed-role/${roleName}/${principal.sessionName ?? 'session'}`;
}

const principalAccount = (p: CallPrincipal): string | undefined => (p.kind === 'role' ? p.roleArn.split(':')[4] : undefined);

/**
 * The request context with the keys AWS sets for the caller when the request did not give them (IAM User Guide,
 * "AWS global condition context keys": aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalType, aws:userid,
 * aws:PrincipalServiceName). Keys are case-insensitive ("Policy variables": "Key names are case-insensitive").
 */
function requestContext(request: AuthorizationRequest): Context {
  const p = request.principal;
  const defaults: Record<string, string> = {};
  if (p.kind === 'role') {
    // A role's unique ID starts with AROA; aws:userid of a role session is `role-id:caller-specified-role-name`.
    const roleId = `AROA${createHash('sha256').update(p.roleArn).digest('hex').slice(0, 17).toUpperCase()}`;
    Object.assign(defaults, {
      'aws:PrincipalArn': p.roleArn,
      'aws:PrincipalAccount': principalAccount(p),
      'aws:PrincipalType': 'AssumedRole',
      'aws:userid': `${roleId}:${p.sessionName ?? 'session'}`,
    });
  } else if (p.kind === 'service') {
    defaults['aws:PrincipalServiceName'] = p.service;
  }
  const ctx = new Map<string, string | string[]>();
  for (const [k, v] of [...Object.entries(defaults), ...Object.entries(request.context)]) ctx.set(k.toLowerCase(), v);
  return ctx;
}

// Wildcard characters that came from `${*}`, `${?}` or a substituted value: literal, never wildcards.
const LITERAL_STAR = '\uE000';
const LITERAL_QMARK = '\uE001';
const literal = (s: string) => s.replace(/\*/g, LITERAL_STAR).replace(/\?/g, LITERAL_QMARK);
const plain = (s: string) => s.replace(/\uE000/g, '*').replace(/\uE001/g, '?');

/**
 * Substitutes policy variables (IAM User Guide, "IAM policy elements: Variables and tags": `${key}`, `${key, 'default'}`,
 * and the special `${*}`, `${?}`, `${$}`). Undefined when a key is not present and has no default: "any attempt to
 * match it fails and causes the statement to be invalid" (same page, "Principal key values").
 */
function substitute(text: string, ctx: Context): string | undefined {
  let missing = false;
  const out = text.replace(/\$\{([^}]*)\}/g, (_, inner: string) => {
    if (inner === '*') return LITERAL_STAR;
    if (inner === '?') return LITERAL_QMARK;
    if (inner === '$') return '$';
    const m = /^\s*([^,]+?)\s*(?:,\s*'([^']*)')?\s*$/.exec(inner);
    const value = m ? ctx.get(m[1].toLowerCase()) : undefined;
    if (typeof value === 'string') return literal(value);
    if (m?.[2] !== undefined) return literal(m[2]);
    missing = true;
    return '';
  });
  return missing ? undefined : out;
}

/** `*` any run of characters, `?` one character; the rest (and literal wildcards) matched as is. */
function globMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const re = pattern.split('').map((c) => (c === '*' ? '.*' : c === '?' ? '.' : plain(c).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))).join('');
  return new RegExp(`^${re}$`, ignoreCase ? 'si' : 's').test(value);
}

/** An ARN's six colon-separated parts, the last keeping any further colons (IAM User Guide, "IAM ARNs"). */
const arnParts = (arn: string): string[] => {
  const parts = arn.split(':');
  return parts.length > 6 ? [...parts.slice(0, 5), parts.slice(5).join(':')] : parts;
};

/**
 * ARN matching for ArnLike/ArnEquals ("Each of the six colon-delimited components of the ARN is checked separately
 * and each can include multi-character match wildcards (*) or single-character match wildcards (?)", IAM User Guide,
 * "Condition operators", ARN condition operators) and for Resource: wildcards "within any ARN segment".
 */
function arnMatch(pattern: string, arn: string, partial = false): boolean {
  if (pattern === '*') return true;
  if (!pattern.startsWith('arn:')) return partial && globMatch(pattern, arn);
  const p = arnParts(pattern);
  const a = arnParts(arn);
  if (a.length !== 6 || p.length > 6 || (!partial && p.length !== 6)) return false;
  // A Resource pattern with fewer segments lets its last segment cover the rest (`arn:aws:sqs:*`).
  const rest = [...a.slice(0, p.length - 1), a.slice(p.length - 1).join(':')];
  return p.every((seg, i) => globMatch(seg, rest[i]));
}

/** Action names and service prefixes are case-insensitive (IAM User Guide, "IAM JSON policy elements: Action"). */
const actionMatches = (patterns: string[], action: string) => patterns.some((p) => globMatch(p, action, true));

/** Resource/NotResource of a statement; undefined when a variable cannot be resolved (the statement is invalid). */
function resourceMatches(s: PolicyStatement, resource: string, ctx: Context, resourcePolicy: boolean): boolean | undefined {
  const patterns = list(s.Resource ?? s.NotResource).map((p) => substitute(p, ctx));
  if (patterns.some((p) => p === undefined)) return undefined;
  // A resource policy's statement without Resource applies to the resource the policy is attached to.
  if (s.Resource === undefined && s.NotResource === undefined) return resourcePolicy;
  const hit = patterns.some((p) => arnMatch(p!, resource, true));
  return s.Resource !== undefined ? hit : !hit;
}

/**
 * How a Principal element names the caller (IAM User Guide, "AWS JSON policy elements: Principal"): `*` and
 * `{AWS: '*'}` everyone, anonymous included; an account ID or `arn:aws:iam::<acct>:root` the account (which
 * delegates to its identity policies); a role ARN that role's sessions; an assumed-role ARN that session; `Service`.
 */
function principalGrant(principal: PolicyPrincipal, caller: CallPrincipal): Grant | undefined {
  if (principal === '*') return 'direct';
  const aws = list(principal.AWS);
  if (aws.includes('*')) return 'direct';
  if (caller.kind === 'service') return list(principal.Service).includes(caller.service) ? 'direct' : undefined;
  if (caller.kind === 'anonymous') return undefined;
  const account = principalAccount(caller)!;
  if (aws.includes(sessionArn(caller))) return 'direct';
  if (aws.includes(caller.roleArn)) return 'role';
  const partition = caller.roleArn.split(':')[1];
  return aws.includes(account) || aws.includes(`arn:${partition}:iam::${account}:root`) ? 'account' : undefined;
}

/** Whether one context value satisfies one base operator against the policy's values (OR across them). */
function operatorMatches(op: string, value: string, wanted: string[]): boolean {
  const num = (s: string) => (/^\s*-?(\d+\.?\d*|\.\d+)\s*$/.test(s) ? Number(s) : NaN);
  const date = (s: string) => (/^\d+$/.test(s) ? Number(s) * 1000 : Date.parse(s));
  const compare = (parse: (s: string) => number, test: (a: number, b: number) => boolean) =>
    wanted.some((w) => !isNaN(parse(value)) && !isNaN(parse(w)) && test(parse(value), parse(w)));
  const ordered: Record<string, (a: number, b: number) => boolean> = {
    Equals: (a, b) => a === b,
    LessThan: (a, b) => a < b,
    LessThanEquals: (a, b) => a <= b,
    GreaterThan: (a, b) => a > b,
    GreaterThanEquals: (a, b) => a >= b,
  };
  const numeric = /^(Numeric|Date)(Equals|LessThan|LessThanEquals|GreaterThan|GreaterThanEquals)$/.exec(op);
  if (numeric) return compare(numeric[1] === 'Numeric' ? num : date, ordered[numeric[2]]);
  switch (op) {
    case 'StringEquals': return wanted.some((w) => plain(w) === value);
    case 'StringEqualsIgnoreCase': return wanted.some((w) => plain(w).toLowerCase() === value.toLowerCase());
    case 'StringLike': return wanted.some((w) => globMatch(w, value));
    case 'Bool': return wanted.some((w) => w.toLowerCase() === value.toLowerCase());
    case 'BinaryEquals': return wanted.some((w) => Buffer.from(w, 'base64').equals(Buffer.from(value, 'base64')));
    case 'IpAddress': return wanted.some((w) => inCidr(value, w));
    case 'ArnEquals': case 'ArnLike': return wanted.some((w) => arnMatch(w, value));
    default: throw new Error(`The kit's IAM evaluator does not implement the condition operator ${op}`);
  }
}

/** Negated operators and the positive operator whose result they invert. */
const NEGATED: Record<string, string> = {
  StringNotEquals: 'StringEquals',
  StringNotEqualsIgnoreCase: 'StringEqualsIgnoreCase',
  StringNotLike: 'StringLike',
  NumericNotEquals: 'NumericEquals',
  DateNotEquals: 'DateEquals',
  NotIpAddress: 'IpAddress',
  ArnNotEquals: 'ArnEquals',
  ArnNotLike: 'ArnLike',
};

/** An IPv4 or IPv6 address as a number and its width in bits. */
function parseIp(ip: string): [bigint, number] | undefined {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return [ip.split('.').reduce((n, o) => n * 256n + BigInt(Number(o)), 0n), 32];
  if (!ip.includes(':')) return undefined;
  const [head, tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return groups.length === 8 ? [groups.reduce((n, g) => n * 65536n + BigInt(parseInt(g, 16)), 0n), 128] : undefined;
}

function inCidr(ip: string, cidr: string): boolean {
  const [net, bits] = cidr.split('/');
  const a = parseIp(ip);
  const n = parseIp(net);
  if (!a || !n || a[1] !== n[1]) return false;
  const block = 2n ** BigInt(a[1] - (bits === undefined ? a[1] : Number(bits)));
  return a[0] / block === n[0] / block;
}

/**
 * One `operator: { key: values }` entry (IAM User Guide, "Condition operators" and "Single-valued vs. multivalued
 * context keys"): values OR-ed; `...IfExists` true when the key is absent; a negated operator on an absent key is
 * true; `ForAnyValue:` false and `ForAllValues:` true on an absent (or empty) key; `Null` tests presence.
 * Undefined when a policy variable in the values cannot be resolved.
 */
function conditionMatches(operator: string, key: string, rawValues: unknown, ctx: Context): boolean | undefined {
  const m = /^(?:(ForAnyValue|ForAllValues):)?(.+?)(IfExists)?$/.exec(operator)!;
  const [, set, base, ifExists] = m;
  const found = ctx.get(key.toLowerCase());
  const values = found === undefined ? [] : list(found);
  const policyValues = list(rawValues as unknown).map(String);
  if (base === 'Null') return policyValues.some((w) => (w.toLowerCase() === 'true') === (values.length === 0));
  const positive = NEGATED[base] ?? base;
  // Policy variables are allowed in the values of string and ARN operators only ("Policy variables", Condition element).
  const wanted = /^(String|Arn)/.test(positive) ? policyValues.map((w) => substitute(w, ctx)) : policyValues;
  if (wanted.some((w) => w === undefined)) return undefined;
  const one = (v: string) => operatorMatches(positive, v, wanted as string[]) !== (positive !== base);
  // "If the key is not present, evaluate the condition element as true" (Condition operators, ...IfExists).
  if (values.length === 0) return !!ifExists || set === 'ForAllValues' || (set === undefined && positive !== base);
  if (set === 'ForAllValues') return values.every(one);
  if (set === 'ForAnyValue' || positive === base) return values.some(one);
  return values.every(one); // a negated operator on a multivalued key: no value matches any policy value
}

/** Whether a statement applies to the request; undefined when it is invalid for the request (unresolved variable). */
function statementApplies(s: PolicyStatement, request: AuthorizationRequest, ctx: Context, resourcePolicy: boolean): Grant | false {
  const actionHit = s.Action !== undefined ? actionMatches(list(s.Action), request.action)
    : s.NotAction !== undefined && !actionMatches(list(s.NotAction), request.action);
  if (!actionHit) return false;
  if (!resourceMatches(s, request.resource, ctx, resourcePolicy)) return false;
  let grant: Grant = 'direct';
  if (resourcePolicy) {
    if (s.Principal !== undefined) {
      const g = principalGrant(s.Principal, request.principal);
      if (!g) return false;
      grant = g;
    } else if (s.NotPrincipal !== undefined) {
      if (principalGrant(s.NotPrincipal, request.principal)) return false;
    } else {return false;}
  }
  for (const [operator, block] of Object.entries(s.Condition ?? {})) {
    for (const [key, values] of Object.entries(block)) if (!conditionMatches(operator, key, values, ctx)) return false;
  }
  return grant;
}

/** The matching statements of one effect in a policy. */
function matching(policy: NamedPolicy, kind: PolicyKind, effect: 'Allow' | 'Deny', request: AuthorizationRequest,
  ctx: Context, extraDeny?: (s: PolicyStatement) => boolean): Match[] {
  const resourcePolicy = kind === 'resource' || kind === 'key';
  return statements(policy).flatMap((s, i) => {
    if (s.Effect !== effect) return [];
    const grant = statementApplies(s, request, ctx, resourcePolicy) || (extraDeny?.(s) && statementApplies({ ...s, NotPrincipal: undefined, Principal: '*' }, request, ctx, true));
    return grant ? [{ policy: policy.name, statement: s.Sid ?? `#${i + 1}`, kind, grant }] : [];
  });
}

const strip = (m: Match): MatchedStatement => ({ policy: m.policy, statement: m.statement, kind: m.kind });

/** AWS's decision for one request (see the file comment for the documents this follows). */
export function evaluate(input: EvaluationInput): Decision {
  const { request, principalPolicies, resourcePolicy, keyPolicyRequired = false } = input;
  const ctx = requestContext(request);
  const caller = request.principal;
  const role = caller.kind === 'role';
  const resourceKind: PolicyKind = keyPolicyRequired ? 'key' : 'resource';
  // SCPs apply to the principals of the account (IAM roles and users), not to service principals or anonymous callers
  // (AWS Organizations User Guide, "Service control policies (SCPs)": "SCPs affect only IAM users and roles").
  const scps = role ? principalPolicies?.scps ?? [] : [];
  const identity = role ? principalPolicies?.identity ?? [] : [];
  const boundary = role ? principalPolicies?.boundary : undefined;
  const all: Array<[NamedPolicy, PolicyKind]> = [
    ...scps.map((p): [NamedPolicy, PolicyKind] => [p, 'scp']),
    ...(resourcePolicy ? [[resourcePolicy, resourceKind] as [NamedPolicy, PolicyKind]] : []),
    ...identity.map((p): [NamedPolicy, PolicyKind] => [p, 'identity']),
    ...(boundary ? [[boundary, 'boundary'] as [NamedPolicy, PolicyKind]] : []),
  ];

  // 1. An explicit Deny in any applicable policy wins ("How AWS enforcement code logic evaluates requests", Deny
  // evaluation). A NotPrincipal Deny "will always deny any IAM principal that has a permissions boundary policy
  // attached" (IAM User Guide, "Permissions boundaries for IAM entities").
  const notPrincipalDeny = (s: PolicyStatement) => !!boundary && s.NotPrincipal !== undefined;
  for (const [policy, kind] of all) {
    const deny = matching(policy, kind, 'Deny', request, ctx, kind === resourceKind ? notPrincipalDeny : undefined)[0];
    if (deny) return { allowed: false, reason: 'ExplicitDeny', deniedBy: strip(deny), allowedBy: [], missing: [] };
  }

  const allows = (policy: NamedPolicy, kind: PolicyKind) => matching(policy, kind, 'Allow', request, ctx);
  const implicit = (...missing: PolicyKind[]): Decision => ({ allowed: false, reason: 'ImplicitDeny', allowedBy: [], missing });

  // 2. Every SCP that applies must allow (same page, "AWS Organizations SCPs").
  const scpAllows = scps.map((p) => allows(p, 'scp'));
  if (scpAllows.some((a) => a.length === 0)) return implicit('scp');

  const resourceAllows = resourcePolicy ? allows(resourcePolicy, resourceKind) : [];
  if (!role) {
    // Service principals and anonymous callers have no identity policies: only the resource policy can allow.
    return resourceAllows.length ? allowedBy(resourceAllows) : implicit(resourceKind);
  }

  const identityAllows = identity.flatMap((p) => allows(p, 'identity'));
  const boundaryAllows = boundary ? allows(boundary, 'boundary') : [];
  const withinBoundary = !boundary || boundaryAllows.length > 0;
  const granted = (g: Grant) => resourceAllows.filter((m) => m.grant === g);
  const direct = granted('direct');
  const roleGrant = granted('role');
  const accountGrant = granted('account');
  const scpMatches = scpAllows.flat();
  const identityPath = identityAllows.length > 0 && withinBoundary;
  // What is missing on the identity side: no identity policy allows, or the boundary does not.
  const identityMissing: PolicyKind = identityAllows.length === 0 ? 'identity' : 'boundary';

  if (principalAccount(caller) !== request.resourceAccount) {
    // Cross-account: the identity side and the resource policy must both allow ("Cross-account policy evaluation logic").
    if (!identityPath) return implicit(identityMissing, ...(resourceAllows.length ? [] : [resourceKind]));
    if (!resourceAllows.length) return implicit(resourceKind);
    return allowedBy([...scpMatches, ...identityAllows, ...boundaryAllows, ...resourceAllows]);
  }
  // Same account ("How AWS enforcement code logic evaluates requests", Resource-based policies): a grant to the
  // role session is not limited by an implicit deny in identity policies or the boundary; a grant to the role ARN
  // is limited by an implicit deny in the boundary; a grant to the account only delegates to identity policies.
  if (direct.length) return allowedBy([...scpMatches, ...direct]);
  if (roleGrant.length && withinBoundary) return allowedBy([...scpMatches, ...roleGrant, ...boundaryAllows]);
  if (keyPolicyRequired) {
    // KMS: "Unless the key policy explicitly allows it, you cannot use IAM policies to allow access to a KMS key"
    // (AWS KMS Developer Guide, "Key policies in AWS KMS"); a key policy naming the account enables IAM policies.
    if (!accountGrant.length) return roleGrant.length ? implicit('boundary') : implicit('key');
    if (!identityPath) return implicit(identityMissing);
    return allowedBy([...scpMatches, ...accountGrant, ...identityAllows, ...boundaryAllows]);
  }
  if (identityPath) return allowedBy([...scpMatches, ...identityAllows, ...boundaryAllows]);
  if (roleGrant.length || identityAllows.length) return implicit('boundary');
  return implicit('identity', ...(resourcePolicy ? ['resource' as const] : []));
}

function allowedBy(matches: Match[]): Decision {
  return { allowed: true, reason: 'Allowed', allowedBy: matches.map(strip), missing: [] };
}

/** The caller as AWS names it in an AccessDenied message: a role's session ARN, a service's name, `anonymous`. */
export function callerName(principal: CallPrincipal): string {
  if (principal.kind === 'role') return sessionArn(principal);
  return principal.kind === 'service' ? principal.service : 'anonymous';
}

const KIND_NAMES: Record<PolicyKind, string> = {
  identity: 'identity-based policy',
  resource: 'resource-based policy',
  key: 'resource-based policy',
  boundary: 'permissions boundary',
  scp: 'service control policy',
};

/**
 * AWS's AccessDenied message (IAM User Guide, "Troubleshoot access denied error messages"): `User: <arn> is not
 * authorized to perform: <action> on resource: <arn> because no <type> allows the <action> action` or `... with an
 * explicit deny in a <type>`. AWS names one policy type only; this names the first that failed.
 */
export function denialMessage(request: AuthorizationRequest, decision: Decision): string {
  const on = request.resource === '*' ? '' : ` on resource: ${request.resource}`;
  const head = `User: ${callerName(request.principal)} is not authorized to perform: ${request.action}${on}`;
  if (decision.reason === 'ExplicitDeny') {
    const name = KIND_NAMES[decision.deniedBy?.kind ?? 'identity'];
    return `${head} with an explicit deny in ${/^[aeiou]/.test(name) ? 'an' : 'a'} ${name}`;
  }
  return `${head} because no ${KIND_NAMES[decision.missing[0] ?? 'identity']} allows the ${request.action} action`;
}
