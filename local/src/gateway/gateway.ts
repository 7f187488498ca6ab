import type * as http from 'node:http';
import { Call } from '../iam/calls';
import { LocalCredentials, IssuedCredentials } from '../iam/credentials';
import { denialMessage } from '../iam/evaluate';
import { CallPrincipal, Decision } from '../iam/model';
import { refuseAuthentication, refuseAuthorization, WireService } from '../iam/refusals';
import { verifySigV4 } from '../iam/sigv4';
import { TemplatePolicies } from '../iam/template-policies';
import { cacheBody, PeerRequestHandler } from '../peers/loopback-server';

/**
 * The kit's gateway: the one chain every call to a peer passes, as LocalStack's gateway does. It identifies the caller
 * (SigV4: the access key names the principal the kit issued it to), authorizes what the request does against the
 * template's policies (the service's own action and the calls the service makes for the caller, e.g. S3 asking KMS),
 * and only then dispatches to the peer. Deliveries between services that do not cross HTTP here (EventBridge to a
 * queue, the state machine invoking its function) pass {@link Gateway.authorize} with the principal AWS uses.
 */

/** What the gateway needs to know of one service. */
export interface ServiceBinding {
  /** How the service refuses (its wire protocol and error names). */
  readonly wire: WireService;
  /** The signing name a request's credential scope names (`s3`, `sns`, `sagemaker` for SageMaker Runtime...). */
  readonly signingName: string;
  /** Read the body before dispatch (the JSON and query protocols: the operation's parameters are in it). S3 streams. */
  readonly bufferBody: boolean;
  /** What the service answers when the KMS call it makes for the caller is denied. @default its usual denial */
  readonly kmsDenial?: { readonly code: string; readonly status: number };
  /** Requests the service answers without a signature (Cognito's public operations). */
  unsigned?(req: GatewayRequest): boolean;
  /** The calls the request makes, as the principal; `[]` when it makes none the kit authorizes. */
  describe(req: GatewayRequest, principal: CallPrincipal, policies: TemplatePolicies): Call[];
}

/** A request as the bindings read it. */
export interface GatewayRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: http.IncomingHttpHeaders;
  /** The body, when the binding buffers it. */
  readonly body?: Buffer;
}

/** One authorization the gateway decided, for the run's record. */
export interface AuthorizationRecord {
  readonly principal: string;
  readonly action: string;
  readonly resource: string;
  readonly description: string;
  readonly decision: Decision;
}

/** A call the policies denied: who, what, on what, and why (the statement that denied, or what allowed nothing). */
export interface Denial extends AuthorizationRecord {
  /** AWS's message (`User: ... is not authorized to perform: ... because ...`). */
  readonly message: string;
}

export interface GatewayOptions {
  readonly policies: TemplatePolicies;
  /**
   * Refuse what the policies deny. Off, denials are still recorded (and listed), but the call goes through.
   * @default true
   */
  readonly enforce?: boolean;
  /** The services' clock (scaled time), for the signatures' 15-minute window. @default Date.now */
  readonly now?: () => number;
}

/** How many authorization records a gateway keeps. */
const MAX_RECORDS = 10_000;

/** The kit's own calls (your uploads, the runner's reads for reports): signed, but not a principal of the pipeline. */
const OPERATOR_ROLE = 'ics-local-operator';

export class Gateway {
  public readonly credentials = new LocalCredentials();
  public readonly policies: TemplatePolicies;
  public readonly enforce: boolean;
  /** The calls the gateway authorized or denied, in order, up to 10,000 (the operator's calls are not authorized, so not listed). */
  public readonly records: AuthorizationRecord[] = [];
  /** The denied ones. */
  public readonly denials: Denial[] = [];
  /** The principal of the kit's own calls. */
  public readonly operator: CallPrincipal;
  /** What enforcement costs: requests identified and authorized, and the time spent doing it (ms), for the bench. */
  public readonly stats = { requests: 0, ms: 0 };
  private readonly now: () => number;
  private readonly announced = new Set<string>();

  constructor(options: GatewayOptions) {
    this.policies = options.policies;
    this.enforce = options.enforce ?? true;
    this.now = options.now ?? Date.now;
    const a = this.policies.account;
    this.operator = { kind: 'role', roleArn: `arn:${a.partition}:iam::${a.account}:role/${OPERATOR_ROLE}` };
  }

  /** Session credentials of a principal (a function's role, the state machine's role, a delivery stream's role). */
  public credentialsFor(principal: CallPrincipal): IssuedCredentials {
    return this.credentials.issue(principal);
  }

  /** Credentials of a role of the template, by logical ID. */
  public roleCredentials(roleLogicalId: string): IssuedCredentials {
    return this.credentialsFor(this.policies.rolePrincipal(roleLogicalId));
  }

  /** Credentials of the kit's own calls. */
  public get operatorCredentials(): IssuedCredentials {
    return this.credentialsFor(this.operator);
  }

  /**
   * Authorizes calls that cross no HTTP here; records each decision. Resolves to the first denial (nothing is done on
   * AWS after a denied call), or undefined. With enforcement off, records and allows.
   */
  public authorize(calls: readonly Call[]): Denial | undefined {
    const started = performance.now();
    try {
      return this.decide(calls);
    } finally {
      this.stats.ms += performance.now() - started;
      // What the kit assumed of resources outside the template (a key you bring), said once per run.
      for (const a of this.policies.assumptions) {
        if (this.announced.has(a)) continue;
        this.announced.add(a);
        process.stderr.write(`[ics-local] IAM: ${a}\n`);
      }
    }
  }

  private decide(calls: readonly Call[]): Denial | undefined {
    for (const c of calls) {
      const principal = c.request.principal;
      if (principal.kind === 'role' && principal.roleArn === (this.operator as { roleArn: string }).roleArn) continue;
      const decision = this.policies.authorize(c.request);
      const record = {
        principal: principalName(principal), action: c.request.action, resource: c.request.resource, description: c.description, decision,
      };
      // A long run (the bench's bursts) keeps the first records only; denials are all kept.
      if (this.records.length < MAX_RECORDS) this.records.push(record);
      if (!decision.allowed) {
        const denial = { ...record, message: denialMessage(c.request, decision) };
        this.denials.push(denial);
        if (this.enforce) return denial;
      }
    }
    return undefined;
  }

  /** The chain for one peer's HTTP server: identify, authorize, dispatch to `handler`. */
  public chain(binding: ServiceBinding, handler: PeerRequestHandler): PeerRequestHandler {
    return async (req, res) => {
      // A CORS preflight is answered from the resource's CORS rules before any authentication (it carries none of
      // its own, even when its URL is a presigned one: S3 User Guide, "How does Amazon S3 evaluate the CORS configuration").
      if (req.method === 'OPTIONS') return handler(req, res);
      const body = binding.bufferBody ? await cacheBody(req, 64 * 1024 * 1024) : undefined;
      this.stats.requests++;
      const started = performance.now();
      const request: GatewayRequest = { method: req.method ?? 'GET', url: new URL(req.url ?? '/', 'http://peer.local'), headers: req.headers, body };
      const region = this.policies.account.region;
      const verified = verifySigV4(req, this.credentials, { service: binding.signingName, region, body, now: this.now });
      this.stats.ms += performance.now() - started;
      if (!verified.ok) return refuseAuthentication(res, binding.wire, verified, { method: req.method, headers: corsHeaders(req) });
      let principal: CallPrincipal;
      if (verified.anonymous) {
        if (binding.unsigned?.(request)) return handler(req, res);
        // S3 evaluates an unsigned request as the anonymous principal; the JSON and query services require a signature.
        if (binding.wire !== 's3') return refuseAuthentication(res, binding.wire, { code: 'MissingAuthentication' }, { method: req.method, headers: corsHeaders(req) });
        principal = { kind: 'anonymous' };
      } else {
        principal = verified.principal;
      }
      const described = performance.now();
      const calls = binding.describe(request, principal, this.policies);
      this.stats.ms += performance.now() - described;
      const denial = this.authorize(calls);
      if (denial) {
        // A service answers its own KMS call's denial with an error of its own (SNS KMSAccessDenied, SQS KmsAccessDenied).
        const kms = denial.action.startsWith('kms:') ? binding.kmsDenial : undefined;
        return refuseAuthorization(res, binding.wire, denial.message, { method: req.method, headers: corsHeaders(req), denial: kms });
      }
      return handler(req, res);
    };
  }
}

/** A browser reads a refusal only with the CORS headers its origin was allowed (the S3 peer adds them to answers). */
function corsHeaders(req: http.IncomingMessage): Record<string, string> {
  const origin = req.headers.origin;
  return typeof origin === 'string' ? { 'access-control-allow-origin': origin } : {};
}

export function principalName(p: CallPrincipal): string {
  return p.kind === 'role' ? p.roleArn : p.kind === 'service' ? p.service : 'anonymous';
}

/** A peer's handler behind the gateway when it has one (a peer started on its own, in a protocol test, has none). */
export function gated(gateway: Gateway | undefined, binding: ServiceBinding, handler: PeerRequestHandler): PeerRequestHandler {
  return gateway ? gateway.chain(binding, handler) : handler;
}
