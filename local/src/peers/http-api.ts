import { constants, randomBytes, verify as verifySignature, type KeyObject } from 'node:crypto';
import type * as http from 'node:http';
import { decodeJwt, publicKeyFromJwk } from './cognito';
import { startLoopbackServer } from './loopback-server';
import { LOCAL_ACCOUNT, resolveIntrinsics, type CfnTemplate, type LocalAccount } from '../template-resolver';

/**
 * An emulator of one API Gateway HTTP API (`AWS::ApiGatewayV2::Api`, ProtocolType HTTP) read from a synthesized
 * template: its routes, Lambda proxy integrations (payload format 2.0), JWT authorizers and CORS configuration, served
 * as its `$default` stage on a loopback port. The caller runs the Lambda functions (`invoke`).
 *
 * AWS behaviour it follows, and where it was checked (docs.aws.amazon.com/apigateway/latest/developerguide/):
 * - http-api-develop-routes: `ANY` matches methods a path has no route of its own for; `{name}` path variables,
 *   greedy `{proxy+}` (last segment only); priority: full match of route and method, then a greedy match, then
 *   `$default`; no match answers 404 `{"message":"Not Found"}`. URL-encoded path parameters reach the integration
 *   decoded.
 * - http-api-jwt-authorizer: the identity source may hold the token alone or prefixed with `Bearer `; RSA signatures
 *   only, with the key named by `kid` from the issuer's `jwks_uri`; `iss` must equal the configured issuer, `aud` be
 *   one of the audiences, `exp` after and `nbf` before now; with route scopes the token's `scope` or `scp` must hold one.
 * - http-api-troubleshooting-jwt: a refused token answers 401 `{"message":"Unauthorized"}` with `www-authenticate:
 *   Bearer scope="" error="invalid_token" error_description="the token does not have a valid audience"` and an
 *   `apigw-requestid` header; `client_id` is checked against the audiences only when there is no `aud`.
 * - http-api-develop-integrations-lambda: the 2.0 event (duplicate headers and query parameters comma-joined, cookies
 *   in `cookies`, `requestContext.authorizer.jwt.{claims,scopes}`), and the response rules (a result without
 *   `statusCode` is 200 `application/json` with the result as body; `cookies` become `set-cookie` headers).
 * - http-api-quotas: payload size 10 MB.
 * - Claim values reach the function as strings, arrays as `[a b]`: seen in real events in awsdocs/amazon-api-gateway-
 *   developer-guide#113 (`"exp": "1612061676"`), DefinitelyTyped#75458 (a captured 2.0 event: claims all strings,
 *   x-forwarded-* and x-amzn-trace-id headers), aws-solutions-library-samples/guidance-for-claude-code-with-amazon-
 *   bedrock#802 (`"[a b c]"` groups), floci-io/floci#2011 (measured: arrays bracketed, numbers and booleans as
 *   strings, null claims omitted, objects as JSON text). `scopes` is null on a route without scopes
 *   (aws/aws-lambda-go#317, DefinitelyTyped#75458).
 * Not confirmed (AWS's choice is assumed): the `www-authenticate` value of a request without a token (`Bearer`) and the
 * error_description wording other than the audience one; 403 `{"message":"Forbidden"}` for a token without a route
 * scope; which request content types arrive base64-encoded (here every type but text/*, JSON, XML and JavaScript,
 * so also form posts and bodies without a content type); the 413 body; a response without content-type getting
 * `application/json`.
 */

/** A JSON Web Key Set (RSA keys are used). */
export interface JwkSet {
  readonly keys: ReadonlyArray<{ kid?: string; kty: string; n: string; e: string; alg?: string }>;
}

/** The payload format 2.0 event (the shape of aws-lambda's `APIGatewayProxyEventV2`, with the JWT authorizer). */
export interface HttpApiEvent {
  version: '2.0';
  routeKey: string;
  rawPath: string;
  rawQueryString: string;
  cookies?: string[];
  headers: Record<string, string>;
  queryStringParameters?: Record<string, string>;
  pathParameters?: Record<string, string>;
  requestContext: {
    accountId: string;
    apiId: string;
    authorizer?: { jwt: { claims: Record<string, string>; scopes: string[] | null } };
    domainName: string;
    domainPrefix: string;
    http: { method: string; path: string; protocol: string; sourceIp: string; userAgent: string };
    requestId: string;
    routeKey: string;
    stage: string;
    time: string;
    timeEpoch: number;
  };
  body?: string;
  isBase64Encoded: boolean;
}

export interface HttpApiPeerOptions {
  readonly template: CfnTemplate;
  /** @default the template's only AWS::ApiGatewayV2::Api of ProtocolType HTTP */
  readonly apiLogicalId?: string;
  /**
   * Runs a route's function: the logical ID of the AWS::Lambda::Function its integration names (or the function ARN
   * when the template does not create it). A rejection is a failed invocation (500 to the client).
   */
  readonly invoke: (functionId: string, event: HttpApiEvent) => Promise<unknown>;
  /**
   * What `Ref` of a resource gives, overriding the template resolver's (which is the logical ID for a user pool and its
   * client): e.g. `{ [userPoolLogicalId]: cognito.userPoolId, [clientLogicalId]: cognito.clientId }`, so the authorizer's
   * audience and issuer name the local pool. Also the API's id (`requestContext.apiId`) when given for the API.
   */
  readonly physicalIds?: Readonly<Record<string, string>>;
  /**
   * Maps an authorizer's issuer as the template configures it (e.g. `https://cognito-idp.us-east-1.amazonaws.com/
   * us-east-1_LocalPool`) to the issuer of the local tokens (the Cognito peer's `issuer`). @default unchanged
   */
  readonly issuerFor?: (templateIssuer: string) => string;
  /** The issuer's signing keys. @default fetched from `<issuer>/.well-known/jwks.json` (cached; fetched again for an unknown kid) */
  readonly jwks?: (issuer: string) => Promise<JwkSet>;
  /** Pseudo parameters and `requestContext.accountId`. @default LOCAL_ACCOUNT */
  readonly account?: LocalAccount;
  /** Time source (epoch ms) for token expiry and request times, e.g. the runner's ScaledClock. @default Date.now */
  readonly clock?: { now(): number };
  /** @default a random free port */
  readonly port?: number;
}

export interface HttpApiRequestRecord {
  readonly requestId: string;
  readonly method: string;
  readonly path: string;
  /** The route that matched, if any. */
  readonly routeKey?: string;
  readonly status: number;
  /** Why a JWT route refused the request. */
  readonly authError?: string;
  /** The function invoked, if any. */
  readonly functionId?: string;
  /** The invocation's error, or why its result could not be mapped. */
  readonly error?: string;
}

export interface HttpApiPeer {
  /** `http://127.0.0.1:<port>`: the API's `$default` stage. */
  readonly url: string;
  readonly apiId: string;
  /** The routes read from the template. */
  readonly routes: ReadonlyArray<{ routeKey: string; authorizationType: string; functionId: string }>;
  /** Every request served, in order. */
  readonly requests: HttpApiRequestRecord[];
  close(): Promise<void>;
}

interface JwtAuthorizer {
  readonly issuer: string;
  readonly audience: string[];
  /** `$request.header.X` → header name (lower case), or `$request.querystring.x`. */
  readonly sources: Array<{ in: 'header' | 'query'; name: string }>;
}

interface Route {
  readonly routeKey: string;
  readonly method: string;
  /** Path segments; undefined for `$default`. */
  readonly segments?: string[];
  readonly greedy: boolean;
  readonly authorizationType: string;
  readonly authorizer?: JwtAuthorizer;
  readonly scopes: string[];
  readonly functionId: string;
}

interface Cors {
  readonly allowOrigins: string[];
  readonly allowMethods: string[];
  readonly allowHeaders: string[];
  readonly exposeHeaders: string[];
  readonly maxAge?: number;
  readonly allowCredentials: boolean;
}

/** HTTP APIs' payload size quota (http-api-quotas: "Payload size 10 MB"). */
const MAX_PAYLOAD = 10 * 1024 * 1024;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

class Refusal extends Error {
  constructor(public readonly status: number, message: string, public readonly challenge: string) {
    super(message);
  }
}

/** Starts the emulator of the template's HTTP API. Throws when the API uses what it does not emulate. */
export async function startHttpApi(options: HttpApiPeerOptions): Promise<HttpApiPeer> {
  const { template } = options;
  const acct = options.account ?? LOCAL_ACCOUNT;
  const now = () => (options.clock ? options.clock.now() : Date.now());
  const ids = options.physicalIds ?? {};
  const resolve = (v: unknown) => resolveIntrinsics(substituteRefs(v, ids, acct), template, acct);
  const resources = template.Resources;

  const apiLogicalId = options.apiLogicalId ?? onlyHttpApi(template);
  const api = resources[apiLogicalId];
  if (api?.Type !== 'AWS::ApiGatewayV2::Api') throw new Error(`${apiLogicalId} is not an AWS::ApiGatewayV2::Api of the template`);
  if (api.Properties?.ProtocolType !== 'HTTP') throw new Error(`${apiLogicalId} is not an HTTP API (ProtocolType ${api.Properties?.ProtocolType})`);
  const apiId = ids[apiLogicalId] ?? apiLogicalId.replace(/[^a-z0-9]/gi, '').toLowerCase().slice(0, 10);
  const ofApi = (props: any) => props?.ApiId?.Ref === apiLogicalId || resolve(props?.ApiId) === (ids[apiLogicalId] ?? apiLogicalId);
  const refOf = (logicalId: string) => ids[logicalId] ?? logicalId;

  const authorizers = new Map<string, JwtAuthorizer>();
  const integrations = new Map<string, string>();
  const routes: Route[] = [];
  for (const [id, res] of Object.entries(resources)) {
    if (!ofApi(res.Properties)) continue;
    if (res.Type === 'AWS::ApiGatewayV2::Authorizer') {
      const p = res.Properties;
      if (p.AuthorizerType !== 'JWT') continue; // a Lambda authorizer fails the routes that use it, below
      const jwt = p.JwtConfiguration ?? {};
      const templateIssuer = String(resolve(jwt.Issuer));
      authorizers.set(refOf(id), {
        issuer: options.issuerFor ? options.issuerFor(templateIssuer) : templateIssuer,
        audience: ((resolve(jwt.Audience) ?? []) as unknown[]).map(String),
        sources: ((p.IdentitySource ?? ['$request.header.Authorization']) as string[]).map(identitySource),
      });
    } else if (res.Type === 'AWS::ApiGatewayV2::Integration') {
      const p = res.Properties;
      if (p.IntegrationType !== 'AWS_PROXY') throw new Error(`Integration ${id}: IntegrationType ${p.IntegrationType} is not emulated (only AWS_PROXY to Lambda)`);
      if (p.PayloadFormatVersion !== '2.0') throw new Error(`Integration ${id}: PayloadFormatVersion ${p.PayloadFormatVersion} is not emulated (only 2.0)`);
      integrations.set(refOf(id), lambdaTarget(p.IntegrationUri, resolve, template, acct));
    } else if (res.Type === 'AWS::ApiGatewayV2::Stage') {
      const name = res.Properties?.StageName;
      if (name !== '$default') process.stderr.write(`[ics-local] http-api: stage ${name} of ${apiLogicalId} is not served (only $default)\n`);
    }
  }
  for (const [id, res] of Object.entries(resources)) {
    if (res.Type !== 'AWS::ApiGatewayV2::Route' || !ofApi(res.Properties)) continue;
    const p = res.Properties;
    const target = String(resolve(p.Target) ?? '');
    const functionId = integrations.get(target.replace(/^integrations\//, ''));
    if (!functionId) throw new Error(`Route ${id} (${p.RouteKey}): target ${target} is not an integration of the API`);
    const authorizationType = p.AuthorizationType ?? 'NONE';
    let authorizer: JwtAuthorizer | undefined;
    if (authorizationType === 'JWT') {
      authorizer = authorizers.get(String(resolve(p.AuthorizerId)));
      if (!authorizer) throw new Error(`Route ${id} (${p.RouteKey}): authorizer ${JSON.stringify(p.AuthorizerId)} is not a JWT authorizer of the API`);
    } else if (authorizationType !== 'NONE') {
      throw new Error(`Route ${id} (${p.RouteKey}): AuthorizationType ${authorizationType} is not emulated`);
    }
    const scopes = (resolve(p.AuthorizationScopes) ?? []) as string[];
    routes.push({ ...parseRouteKey(String(p.RouteKey)), authorizationType, authorizer, scopes, functionId });
  }
  const cors = corsOf(api.Properties.CorsConfiguration);

  // ---- JWT verification ----

  const keyCache = new Map<string, Map<string, KeyObject>>();
  const fetchKeys = async (issuer: string): Promise<Map<string, KeyObject>> => {
    const set = options.jwks
      ? await options.jwks(issuer)
      : ((await (await fetch(`${issuer.replace(/\/$/, '')}/.well-known/jwks.json`)).json()) as JwkSet);
    const keys = new Map<string, KeyObject>();
    for (const k of set.keys ?? []) if (k.kty === 'RSA') keys.set(String(k.kid), publicKeyFromJwk(k));
    keyCache.set(issuer, keys);
    return keys;
  };
  const keyFor = async (issuer: string, kid: string): Promise<KeyObject | undefined> => {
    let keys = keyCache.get(issuer);
    if (!keys?.has(kid)) keys = await fetchKeys(issuer).catch(() => keys);
    return keys?.get(kid);
  };

  const invalid = (description: string) => new Refusal(401, description, `Bearer scope="" error="invalid_token" error_description="${description}"`);

  /** The token's claims (verified) and scopes, or a Refusal. */
  const authorize = async (route: Route, req: http.IncomingMessage, query: URLSearchParams) => {
    const auth = route.authorizer!;
    const values = auth.sources.map((s) => (s.in === 'header' ? headerValue(req, s.name) : query.get(s.name) ?? undefined));
    if (values.some((v) => v === undefined || v === '')) throw new Refusal(401, 'no token in the identity source', 'Bearer');
    const token = values[0]!.startsWith('Bearer ') ? values[0]!.slice('Bearer '.length).trim() : values[0]!.trim();
    let decoded: ReturnType<typeof decodeJwt>;
    try {
      decoded = decodeJwt(token);
    } catch (err) {
      throw invalid((err as Error).message);
    }
    const { header, payload, signingInput, signature } = decoded;
    if (typeof header.alg !== 'string' || !/^(RS|PS)(256|384|512)$/.test(header.alg)) throw invalid(`signing method ${String(header.alg)} is invalid`);
    const key = await keyFor(auth.issuer, String(header.kid));
    if (!key) throw invalid('the token signing key was not found in the jwks');
    const hash = `sha${header.alg.slice(2)}`;
    const pss = { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(header.alg.slice(2)) / 8 };
    const ok = verifySignature(hash, Buffer.from(signingInput), header.alg.startsWith('PS') ? pss : key, signature);
    if (!ok) throw invalid('the token signature is invalid');
    if (payload.iss !== auth.issuer) throw invalid('the token does not have a valid issuer');
    const aud = payload.aud === undefined ? undefined : Array.isArray(payload.aud) ? payload.aud.map(String) : [String(payload.aud)];
    const audiences = aud ?? (payload.client_id !== undefined ? [String(payload.client_id)] : []);
    if (!audiences.some((a) => auth.audience.includes(a))) throw invalid('the token does not have a valid audience');
    const t = now() / 1000;
    if (typeof payload.exp !== 'number' || payload.exp <= t) throw invalid('the token has expired');
    if (typeof payload.nbf === 'number' && payload.nbf > t) throw invalid('the token is not valid yet');
    if (typeof payload.iat === 'number' && payload.iat > t + 1) throw invalid('the token was issued in the future');
    const tokenScopes = Array.isArray(payload.scp)
      ? payload.scp.map(String)
      : typeof payload.scp === 'string' ? payload.scp.split(' ') : typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [];
    if (route.scopes.length > 0 && !route.scopes.some((s) => tokenScopes.includes(s))) {
      throw new Refusal(403, 'the token does not have a required scope',
        `Bearer scope="${route.scopes.join(' ')}" error="insufficient_scope" error_description="expected scopes: [${route.scopes.join(' ')}]"`);
    }
    return { claims: flattenClaims(payload), scopes: route.scopes.length > 0 ? tokenScopes : null };
  };

  // ---- requests ----

  const requests: HttpApiRequestRecord[] = [];
  let port = 0;

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const requestId = randomBytes(11).toString('base64');
    const t = now();
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const rawQueryString = q < 0 ? '' : rawUrl.slice(q + 1);
    const method = (req.method ?? 'GET').toUpperCase();
    const origin = headerValue(req, 'origin');
    const corsHeaders = cors && origin !== undefined ? corsResponseHeaders(cors, origin) : {};
    const record = (r: Omit<HttpApiRequestRecord, 'requestId' | 'method' | 'path'>) => requests.push({ requestId, method, path: rawPath, ...r });
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { ...corsHeaders, 'content-type': 'application/json', ...headers, 'content-length': String(Buffer.byteLength(text)), 'apigw-requestid': requestId });
      res.end(text);
    };

    // With CORS configured, API Gateway answers preflight requests itself (http-api-cors).
    if (cors && method === 'OPTIONS' && origin !== undefined && headerValue(req, 'access-control-request-method') !== undefined) {
      const h = preflightHeaders(cors, origin, req);
      res.writeHead(204, { ...h, 'apigw-requestid': requestId });
      res.end();
      record({ status: 204 });
      return;
    }

    const declared = Number(headerValue(req, 'content-length') ?? 0);
    if (declared > MAX_PAYLOAD) {
      answer(413, { message: 'Request Entity Too Large' }, { connection: 'close' });
      record({ status: 413 });
      req.resume();
      return;
    }
    const body = await readLimited(req, MAX_PAYLOAD);
    if (body === undefined) {
      answer(413, { message: 'Request Entity Too Large' }, { connection: 'close' });
      record({ status: 413 });
      return;
    }

    const match = selectRoute(routes, method, rawPath);
    if (!match) {
      answer(404, { message: 'Not Found' });
      record({ status: 404 });
      return;
    }
    const { route, pathParameters } = match;
    const query = new URLSearchParams(rawQueryString);
    let authorizer: HttpApiEvent['requestContext']['authorizer'];
    if (route.authorizer) {
      try {
        authorizer = { jwt: await authorize(route, req, query) };
      } catch (err) {
        if (!(err instanceof Refusal)) throw err;
        answer(err.status, { message: err.status === 403 ? 'Forbidden' : 'Unauthorized' }, { 'www-authenticate': err.challenge });
        record({ routeKey: route.routeKey, status: err.status, authError: err.message });
        return;
      }
    }

    const event = buildEvent({
      req,
      route,
      pathParameters,
      rawPath,
      rawQueryString,
      query,
      body,
      requestId,
      time: t,
      authorizer,
      accountId: acct.account,
      apiId,
      host: headerValue(req, 'host') ?? `127.0.0.1:${port}`,
    });
    let result: unknown;
    try {
      result = await options.invoke(route.functionId, event);
    } catch (err) {
      answer(500, { message: 'Internal Server Error' });
      record({ routeKey: route.routeKey, status: 500, functionId: route.functionId, error: String((err as Error)?.message ?? err) });
      return;
    }
    let mapped: { status: number; headers: Record<string, string>; cookies: string[]; body: Buffer };
    try {
      mapped = mapResult(result);
    } catch (err) {
      answer(500, { message: 'Internal Server Error' });
      record({ routeKey: route.routeKey, status: 500, functionId: route.functionId, error: (err as Error).message });
      return;
    }
    const headers: Record<string, string | string[]> = { ...corsHeaders, ...mapped.headers };
    if (mapped.cookies.length > 0) headers['set-cookie'] = mapped.cookies;
    headers['content-length'] = String(mapped.body.length);
    headers['apigw-requestid'] = requestId;
    res.writeHead(mapped.status, headers);
    res.end(method === 'HEAD' ? undefined : mapped.body);
    record({ routeKey: route.routeKey, status: mapped.status, functionId: route.functionId });
  };

  const server = await startLoopbackServer(handle, options.port, (res) => {
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ message: 'Internal Server Error' }));
  }, 'http-api');
  port = Number(new URL(server.url).port);

  return {
    url: server.url,
    apiId,
    routes: routes.map((r) => ({ routeKey: r.routeKey, authorizationType: r.authorizationType, functionId: r.functionId })),
    requests,
    close: () => server.close(),
  };
}

// ---- template ----

function onlyHttpApi(template: CfnTemplate): string {
  const ids = Object.keys(template.Resources).filter((id) => {
    const r = template.Resources[id];
    return r.Type === 'AWS::ApiGatewayV2::Api' && r.Properties?.ProtocolType === 'HTTP';
  });
  if (ids.length !== 1) throw new Error(`Expected one HTTP API (AWS::ApiGatewayV2::Api) in the template, found ${ids.length}: ${ids.join(', ')}; pass apiLogicalId`);
  return ids[0];
}

/**
 * Replaces `{Ref: id}` of the overridden resources by their given physical ids, before the resolver sees them; also a
 * user pool's `ProviderURL` / `ProviderName` attribute (`cognito-idp.<region>.amazonaws.com/<pool id>`).
 */
function substituteRefs(value: unknown, ids: Readonly<Record<string, string>>, acct: LocalAccount): unknown {
  if (Array.isArray(value)) return value.map((v) => substituteRefs(v, ids, acct));
  if (typeof value !== 'object' || value === null) return value;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 1 && keys[0] === 'Ref' && typeof obj.Ref === 'string' && ids[obj.Ref] !== undefined) return ids[obj.Ref];
  if (keys.length === 1 && keys[0] === 'Fn::GetAtt') {
    const arg = obj['Fn::GetAtt'];
    const [id, attr] = Array.isArray(arg) ? arg.map(String) : String(arg).split('.');
    if (ids[id] !== undefined && (attr === 'ProviderURL' || attr === 'ProviderName')) return `cognito-idp.${acct.region}.amazonaws.com/${ids[id]}`;
  }
  if (keys.length === 1 && keys[0] === 'Fn::Sub') {
    // `${Id}` inside a Sub string: substitute the same way.
    const arg = obj['Fn::Sub'];
    const [text, vars] = (Array.isArray(arg) ? arg : [arg, undefined]) as [unknown, Record<string, unknown> | undefined];
    const replaced = String(text).replace(/\$\{([^}!.]+)\}/g, (m, name: string) => (ids[name] !== undefined && !(vars && name in vars) ? ids[name] : m));
    return { 'Fn::Sub': vars ? [replaced, substituteRefs(vars, ids, acct)] : replaced };
  }
  return Object.fromEntries(keys.map((k) => [k, substituteRefs(obj[k], ids, acct)]));
}

/** The function an AWS_PROXY integration invokes: its logical ID when the template creates it, else its ARN. */
function lambdaTarget(uri: unknown, resolve: (v: unknown) => any, template: CfnTemplate, acct: LocalAccount): string {
  const raw = uri as any;
  const getAtt = raw?.['Fn::GetAtt'];
  if (getAtt) {
    const [id] = Array.isArray(getAtt) ? getAtt : String(getAtt).split('.');
    if (template.Resources[id]?.Type === 'AWS::Lambda::Function') return id;
  }
  const text = String(resolve(uri));
  // Also `arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function ARN>/invocations`.
  const arn = /arn:[^:]+:lambda:[^:]*:[^:]*:function:[^/:]+(:[^/]+)?/.exec(text)?.[0] ?? text;
  const name = /:function:([^/:]+)/.exec(arn)?.[1];
  const local = Object.keys(template.Resources).find((id) => template.Resources[id].Type === 'AWS::Lambda::Function' &&
    (id === name || resolveIntrinsics({ 'Fn::GetAtt': [id, 'Arn'] }, template, acct) === arn));
  return local ?? arn;
}

function identitySource(source: string): { in: 'header' | 'query'; name: string } {
  const header = /^\$request\.header\.(.+)$/.exec(source);
  if (header) return { in: 'header', name: header[1].toLowerCase() };
  const query = /^\$request\.querystring\.(.+)$/.exec(source);
  if (query) return { in: 'query', name: query[1] };
  throw new Error(`Identity source ${source} is not emulated`);
}

function parseRouteKey(routeKey: string): Pick<Route, 'routeKey' | 'method' | 'segments' | 'greedy'> {
  if (routeKey === '$default') return { routeKey, method: 'ANY', greedy: false };
  const m = /^([A-Z]+) (\/.*)$/.exec(routeKey);
  if (!m) throw new Error(`Route key ${routeKey} is not "<METHOD> /<path>" or $default`);
  const segments = m[2] === '/' ? [] : m[2].slice(1).split('/');
  const greedy = segments.length > 0 && /^\{[^}]+\+\}$/.test(segments[segments.length - 1]);
  return { routeKey, method: m[1], segments, greedy };
}

function corsOf(c: any): Cors | undefined {
  if (!c) return undefined;
  const list = (v: unknown) => ((v ?? []) as unknown[]).map(String);
  return {
    allowOrigins: list(c.AllowOrigins),
    allowMethods: list(c.AllowMethods).map((m) => m.toUpperCase()),
    allowHeaders: list(c.AllowHeaders).map((h) => h.toLowerCase()),
    exposeHeaders: list(c.ExposeHeaders),
    maxAge: c.MaxAge,
    allowCredentials: c.AllowCredentials === true,
  };
}

function corsResponseHeaders(cors: Cors, origin: string): Record<string, string> {
  const allowed = cors.allowOrigins.includes('*') ? (cors.allowCredentials ? origin : '*') : cors.allowOrigins.includes(origin) ? origin : undefined;
  if (!allowed) return {};
  return {
    'access-control-allow-origin': allowed,
    ...(cors.exposeHeaders.length > 0 && { 'access-control-expose-headers': cors.exposeHeaders.join(',') }),
    ...(cors.allowCredentials && { 'access-control-allow-credentials': 'true' }),
    ...(allowed !== '*' && { vary: 'origin' }),
  };
}

function preflightHeaders(cors: Cors, origin: string, req: http.IncomingMessage): Record<string, string> {
  const base = corsResponseHeaders(cors, origin);
  if (!base['access-control-allow-origin']) return {};
  const requested = (headerValue(req, 'access-control-request-headers') ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
  const headers = cors.allowHeaders.includes('*') ? requested : requested.filter((h) => cors.allowHeaders.includes(h));
  return {
    ...base,
    'access-control-allow-methods': cors.allowMethods.includes('*') ? String(headerValue(req, 'access-control-request-method')) : cors.allowMethods.join(','),
    ...(headers.length > 0 && { 'access-control-allow-headers': headers.join(',') }),
    ...(cors.maxAge !== undefined && { 'access-control-max-age': String(cors.maxAge) }),
  };
}

// ---- routing ----

/**
 * The route API Gateway would pick (http-api-develop-routes, "Routing API requests"): a full match of route and method
 * first, then a greedy `{proxy+}` match, then `$default`. Among full matches the more specific path wins (literal
 * segments before variables, left to right), and a route of the request's method before `ANY`; among greedy matches
 * the longest prefix wins.
 */
function selectRoute(routes: readonly Route[], method: string, rawPath: string): RouteMatch | undefined {
  const segments = rawPath === '/' || rawPath === '' ? [] : rawPath.replace(/^\//, '').split('/');
  let best: { route: Route; pathParameters: Record<string, string>; rank: number[] } | undefined;
  for (const route of routes) {
    if (!route.segments) continue;
    if (route.method !== method && route.method !== 'ANY') continue;
    const params = matchPath(route, segments);
    if (!params) continue;
    const fixed = route.greedy ? route.segments.length - 1 : route.segments.length;
    // Higher is better, compared element by element.
    const rank = [
      route.greedy ? 0 : 1,
      route.greedy ? fixed : 0,
      ...route.segments.slice(0, fixed).map((s) => (isVariable(s) ? 0 : 1)),
      route.method === method ? 1 : 0,
    ];
    if (!best || compareRanks(rank, best.rank) > 0) best = { route, pathParameters: params, rank };
  }
  if (best) return { route: best.route, pathParameters: best.pathParameters };
  const fallback = routes.find((r) => r.routeKey === '$default');
  return fallback ? { route: fallback, pathParameters: {} } : undefined;
}

interface RouteMatch {
  readonly route: Route;
  readonly pathParameters: Record<string, string>;
}

function isVariable(segment: string): boolean {
  return /^\{[^}]+\}$/.test(segment);
}

function matchPath(route: Route, segments: string[]): Record<string, string> | undefined {
  const pattern = route.segments!;
  const params: Record<string, string> = {};
  const fixed = route.greedy ? pattern.length - 1 : pattern.length;
  if (route.greedy ? segments.length <= fixed : segments.length !== fixed) return undefined;
  for (let i = 0; i < fixed; i++) {
    const p = pattern[i];
    if (isVariable(p)) {
      if (segments[i] === '') return undefined;
      params[p.slice(1, -1)] = decode(segments[i]);
    } else if (p !== segments[i] && p !== decode(segments[i])) {
      return undefined;
    }
  }
  if (route.greedy) {
    const rest = segments.slice(fixed);
    if (rest.every((s) => s === '')) return undefined;
    params[pattern[fixed].slice(1, -2)] = decode(rest.join('/'));
  }
  return params;
}

function compareRanks(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? -1) - (b[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

// ---- event and response ----

function headerValue(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** Content types whose bodies reach the function as text; everything else is base64 (`isBase64Encoded: true`). */
function isTextContent(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const type = contentType.split(';')[0].trim().toLowerCase();
  return type.startsWith('text/') || /^application\/([\w.+-]+\+)?(json|xml|javascript)$/.test(type);
}

interface EventInput {
  req: http.IncomingMessage;
  route: Route;
  pathParameters: Record<string, string>;
  rawPath: string;
  rawQueryString: string;
  query: URLSearchParams;
  body: Buffer;
  requestId: string;
  time: number;
  authorizer: HttpApiEvent['requestContext']['authorizer'];
  accountId: string;
  apiId: string;
  host: string;
}

function buildEvent(i: EventInput): HttpApiEvent {
  const { req } = i;
  // Headers from the raw list: lower-cased, duplicates joined with commas; cookies go to `cookies` instead.
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let n = 0; n < req.rawHeaders.length; n += 2) {
    const name = req.rawHeaders[n].toLowerCase();
    const value = req.rawHeaders[n + 1];
    if (name === 'cookie') {
      cookies.push(...value.split(';').map((c) => c.trim()).filter(Boolean));
      continue;
    }
    headers[name] = headers[name] !== undefined ? `${headers[name]},${value}` : value;
  }
  const sourceIp = (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
  headers['x-forwarded-for'] = headers['x-forwarded-for'] ? `${headers['x-forwarded-for']}, ${sourceIp}` : sourceIp;
  headers['x-forwarded-port'] = String(req.socket.localPort ?? '');
  headers['x-forwarded-proto'] = 'http';
  headers['x-amzn-trace-id'] ??= `Root=1-${Math.floor(i.time / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;

  const queryStringParameters: Record<string, string> = {};
  for (const [k, v] of i.query) queryStringParameters[k] = queryStringParameters[k] !== undefined ? `${queryStringParameters[k]},${v}` : v;

  const text = isTextContent(headers['content-type']);
  const d = new Date(i.time);
  const pad = (n: number) => String(n).padStart(2, '0');
  const time = `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
  return {
    version: '2.0',
    routeKey: i.route.routeKey,
    rawPath: i.rawPath,
    rawQueryString: i.rawQueryString,
    ...(cookies.length > 0 && { cookies }),
    headers,
    ...(Object.keys(queryStringParameters).length > 0 && { queryStringParameters }),
    requestContext: {
      accountId: i.accountId,
      apiId: i.apiId,
      ...(i.authorizer && { authorizer: i.authorizer }),
      domainName: i.host,
      domainPrefix: i.host.split('.')[0],
      http: {
        method: (req.method ?? 'GET').toUpperCase(),
        path: decode(i.rawPath),
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: i.requestId,
      routeKey: i.route.routeKey,
      stage: '$default',
      time,
      timeEpoch: i.time,
    },
    ...(Object.keys(i.pathParameters).length > 0 && { pathParameters: i.pathParameters }),
    ...(i.body.length > 0 && { body: text ? i.body.toString('utf8') : i.body.toString('base64') }),
    isBase64Encoded: i.body.length > 0 && !text,
  };
}

/**
 * Claims as the JWT authorizer hands them on: every value a string; arrays as `[a b]`, objects as JSON text, null
 * claims left out (see the module comment for the sources).
 */
export function flattenClaims(payload: Record<string, unknown>): Record<string, string> {
  const flat = (v: unknown): string => {
    if (Array.isArray(v)) return `[${v.map(flat).join(' ')}]`;
    if (typeof v === 'object' && v !== null) return JSON.stringify(v);
    return String(v);
  };
  return Object.fromEntries(Object.entries(payload).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => [k, flat(v)]));
}

/** The client's response for a function's result (payload format 2.0); throws for a malformed one (a 500). */
function mapResult(result: unknown): { status: number; headers: Record<string, string>; cookies: string[]; body: Buffer } {
  const isObject = typeof result === 'object' && result !== null && !Array.isArray(result);
  if (!isObject || !('statusCode' in result)) {
    const body = typeof result === 'string' ? result : JSON.stringify(result) ?? '';
    return { status: 200, headers: { 'content-type': 'application/json' }, cookies: [], body: Buffer.from(body) };
  }
  const r = result as { statusCode: unknown; headers?: unknown; cookies?: unknown; body?: unknown; isBase64Encoded?: unknown };
  const status = Number(r.statusCode);
  if (!Number.isInteger(status) || status < 100 || status > 599) throw new Error(`malformed Lambda proxy response: statusCode ${String(r.statusCode)}`);
  if (r.body !== undefined && r.body !== null && typeof r.body !== 'string') throw new Error('malformed Lambda proxy response: body is not a string');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries((r.headers ?? {}) as Record<string, unknown>)) headers[k.toLowerCase()] = String(v);
  headers['content-type'] ??= 'application/json';
  const cookies = Array.isArray(r.cookies) ? r.cookies.map(String) : [];
  const text = (r.body as string | undefined) ?? '';
  return { status, headers, cookies, body: r.isBase64Encoded === true ? Buffer.from(text, 'base64') : Buffer.from(text) };
}

/** The body, or undefined when it exceeds `limit` bytes. */
async function readLimited(req: http.IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) over = true;
    if (!over) chunks.push(chunk as Buffer);
  }
  return over ? undefined : Buffer.concat(chunks);
}
