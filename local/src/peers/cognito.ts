import { createHash, createPublicKey, generateKeyPairSync, randomBytes, randomUUID, sign, verify as verifySignature, type KeyObject } from 'node:crypto';
import type * as http from 'node:http';
import { readBody, startLoopbackServer } from './loopback-server';
import { gated, Gateway } from '../gateway/gateway';
import { COGNITO_BINDING } from '../gateway/services';

/**
 * A local stand-in for one Amazon Cognito user pool and its app client. It is not Cognito: it implements the subset
 * the operator console uses, with Cognito's wire protocol (AWS JSON 1.1 at `POST /`, `X-Amz-Target:
 * AWSCognitoIdentityProviderService.<Action>`, errors as HTTP 400 `{"__type","message"}`) and Cognito's token format
 * (RS256 JWTs with Cognito's claims, keys published as a JWKS), so `@aws-sdk/client-cognito-identity-provider` and a
 * browser page talk to it unchanged, and a JWT authorizer can verify its tokens.
 *
 * What was checked against AWS's documentation (docs.aws.amazon.com/cognito/latest/developerguide/):
 * - amazon-cognito-user-pools-using-the-id-token / -the-access-token: header `{kid, alg: RS256}`; ID token claims
 *   sub, cognito:groups (an array), email_verified, iss, cognito:username, origin_jti, aud, event_id, token_use "id",
 *   auth_time, exp, iat, jti, email; access token claims sub, cognito:groups, iss, client_id, origin_jti, event_id,
 *   token_use "access", scope, auth_time, exp, iat, jti, username (no aud).
 * - cognito-user-pool-managing-errors: with PreventUserExistenceErrors ENABLED (the construct's app client sets it),
 *   signing in as an unknown user answers NotAuthorizedException, not UserNotFoundException.
 * - The issuer of a real pool is `https://cognito-idp.<region>.amazonaws.com/<userPoolId>`, its keys at
 *   `<issuer>/.well-known/jwks.json` (also the issuer API Gateway's JWT authorizer is configured with, see
 *   apigateway developerguide http-api-jwt-authorizer). Here the issuer is `<peer url>/<userPoolId>`.
 * - CDK's PasswordPolicy defaults (min length 8, lower, upper, digits, symbols) and Cognito's symbol set.
 * Not verified: the exact wording of some messages (written as Cognito is commonly seen to answer).
 */

export interface CognitoUserSeed {
  readonly username: string;
  /** A permanent password: the user is CONFIRMED. Give `temporaryPassword` instead for FORCE_CHANGE_PASSWORD. */
  readonly password?: string;
  /** The user must set a new password at first sign-in (NEW_PASSWORD_REQUIRED). */
  readonly temporaryPassword?: string;
  readonly groups?: readonly string[];
  readonly email?: string;
}

export interface CognitoPeerOptions {
  /** The gateway that identifies and authorizes each request (a LocalPipeline's). @default none: every caller is served */
  readonly gateway?: Gateway;
  /** @default 'us-east-1_LocalPool' */
  readonly userPoolId?: string;
  /** The app client's id. @default 'localconsoleclient000000000' */
  readonly clientId?: string;
  /** Groups that exist from the start. */
  readonly groups?: readonly string[];
  /** Users that exist from the start (CONFIRMED when given a `password`). */
  readonly users?: readonly CognitoUserSeed[];
  /** Lifetime of ID and access tokens in seconds. @default 3600 (Cognito's default) */
  readonly tokenValiditySeconds?: number;
  /** Time source (epoch ms), e.g. the runner's ScaledClock. @default Date.now */
  readonly clock?: { now(): number };
  /** @default a random free port */
  readonly port?: number;
}

/** Claims of a verified token. */
export type CognitoClaims = Record<string, unknown>;

export interface CognitoUserInfo {
  readonly username: string;
  readonly sub: string;
  readonly status: 'CONFIRMED' | 'FORCE_CHANGE_PASSWORD';
  readonly groups: string[];
  readonly attributes: Record<string, string>;
}

export interface CognitoPeer {
  /** Endpoint for `new CognitoIdentityProviderClient({ endpoint })` and the console's `cognitoEndpoint`. */
  readonly url: string;
  /** `iss` of the tokens: `<url>/<userPoolId>` (Cognito's is `https://cognito-idp.<region>.amazonaws.com/<userPoolId>`). */
  readonly issuer: string;
  /** `<issuer>/.well-known/jwks.json`. */
  readonly jwksUri: string;
  readonly userPoolId: string;
  readonly clientId: string;
  /** The public signing keys, as served at `jwksUri`. */
  readonly jwks: { keys: PublicJwk[] };
  /** Actions served, in order (`InitiateAuth`, ...), with the error name when one was answered. */
  readonly calls: Array<{ action: string; error?: string }>;
  /**
   * Verifies a token this pool issued (RS256 signature with a key of the JWKS, `iss`, `exp`, `token_use`, and `aud` /
   * `client_id` against the app client) and returns its claims; throws an Error saying why otherwise.
   */
  verify(token: string, tokenUse?: 'id' | 'access'): CognitoClaims;
  /** Creates a user directly (as AdminCreateUser plus AdminSetUserPassword / AdminAddUserToGroup would). */
  createUser(user: CognitoUserSeed): CognitoUserInfo;
  /** Creates a group if it does not exist. */
  createGroup(name: string): void;
  /** A user as stored, or undefined. */
  user(username: string): CognitoUserInfo | undefined;
  close(): Promise<void>;
}

export interface PublicJwk {
  readonly alg: 'RS256';
  readonly e: string;
  readonly kid: string;
  readonly kty: 'RSA';
  readonly n: string;
  readonly use: 'sig';
}

interface StoredUser {
  username: string;
  sub: string;
  password: string;
  status: 'CONFIRMED' | 'FORCE_CHANGE_PASSWORD';
  enabled: boolean;
  attributes: Map<string, string>;
  groups: Set<string>;
  created: number;
  modified: number;
}

interface StoredGroup {
  name: string;
  description?: string;
  precedence?: number;
  created: number;
}

interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly jwk: PublicJwk;
}

class CognitoError extends Error {
  constructor(public readonly type: string, message: string) {
    super(message);
  }
}

const TARGET_PREFIX = 'AWSCognitoIdentityProviderService.';
const JSON_11 = 'application/x-amz-json-1.1';
/** Cognito's sessions for auth challenges last 3 minutes by default (AuthSessionValidity). */
const SESSION_MS = 3 * 60 * 1000;
/** The symbols Cognito's password policy counts (Cognito developer guide, "Password requirements"). */
const SYMBOLS = '^$*.[]{}()?"!@#%&/\\,><\':;|_~`=+- ';
const CORS_ALLOW_HEADERS = 'content-type, x-amz-target, x-amz-user-agent, cache-control, authorization, amz-sdk-invocation-id, amz-sdk-request';
const CORS_EXPOSE_HEADERS = 'x-amzn-RequestId, x-amzn-ErrorType, x-amzn-ErrorMessage, Date';

/** Starts a local Cognito user pool (see the module comment for what it is and is not). */
export async function startCognito(options: CognitoPeerOptions = {}): Promise<CognitoPeer> {
  const userPoolId = options.userPoolId ?? 'us-east-1_LocalPool';
  const clientId = options.clientId ?? 'localconsoleclient000000000';
  const validity = options.tokenValiditySeconds ?? 3600;
  const now = () => (options.clock ? options.clock.now() : Date.now());
  // Cognito signs ID and access tokens with two different keys of the pool's JWKS.
  const idKey = newSigningKey();
  const accessKey = newSigningKey();
  const keysByKid = new Map([idKey, accessKey].map((k) => [k.kid, k]));
  const jwks = { keys: [idKey.jwk, accessKey.jwk] };

  const users = new Map<string, StoredUser>();
  const groups = new Map<string, StoredGroup>();
  const sessions = new Map<string, { username: string; expires: number }>();
  const refreshTokens = new Map<string, { username: string; originJti: string; authTime: number }>();
  const calls: CognitoPeer['calls'] = [];

  // Usernames are case-insensitive, as in a pool created by the CDK (signInCaseSensitive defaults to false).
  const key = (username: string) => username.toLowerCase();
  const findUser = (username: string | undefined) => (username === undefined ? undefined : users.get(key(username)));

  const addGroup = (name: string, description?: string, precedence?: number): StoredGroup => {
    const g = { name, description, precedence, created: now() };
    groups.set(name, g);
    return g;
  };
  for (const g of options.groups ?? []) addGroup(g);

  const addUser = (username: string, password: string, status: StoredUser['status'], attributes: Record<string, string> = {}): StoredUser => {
    const t = now();
    const sub = randomUUID();
    const user: StoredUser = {
      username,
      sub,
      password,
      status,
      enabled: true,
      attributes: new Map([['sub', sub], ...Object.entries(attributes)]),
      groups: new Set(),
      created: t,
      modified: t,
    };
    users.set(key(username), user);
    return user;
  };

  const createUser = (seed: CognitoUserSeed): CognitoUserInfo => {
    if (findUser(seed.username)) throw new CognitoError('UsernameExistsException', 'User account already exists');
    const password = seed.password ?? seed.temporaryPassword ?? `Tmp-${randomBytes(6).toString('base64url')}1a`;
    const user = addUser(seed.username, password, seed.password !== undefined ? 'CONFIRMED' : 'FORCE_CHANGE_PASSWORD',
      seed.email !== undefined ? { email: seed.email, email_verified: 'true' } : {});
    for (const g of seed.groups ?? []) {
      if (!groups.has(g)) addGroup(g);
      user.groups.add(g);
    }
    return info(user);
  };

  const info = (u: StoredUser): CognitoUserInfo => ({
    username: u.username,
    sub: u.sub,
    status: u.status,
    groups: [...u.groups],
    attributes: Object.fromEntries(u.attributes),
  });

  // ---- tokens ----

  let issuer = '';
  const issueTokens = (user: StoredUser, origin?: { originJti: string; authTime: number }, withRefresh = true) => {
    const iat = Math.floor(now() / 1000);
    const authTime = origin?.authTime ?? iat;
    const originJti = origin?.originJti ?? randomUUID();
    const eventId = randomUUID();
    const groupClaim = user.groups.size > 0 ? { 'cognito:groups': [...user.groups] } : {};
    const email = user.attributes.get('email');
    const emailVerified = user.attributes.get('email_verified');
    const idToken = signJwt(idKey, {
      'sub': user.sub,
      ...groupClaim,
      ...(emailVerified !== undefined && { email_verified: emailVerified === 'true' }),
      'iss': issuer,
      'cognito:username': user.username,
      'origin_jti': originJti,
      'aud': clientId,
      'event_id': eventId,
      'token_use': 'id',
      'auth_time': authTime,
      'exp': iat + validity,
      'iat': iat,
      'jti': randomUUID(),
      ...(email !== undefined && { email }),
    });
    const accessToken = signJwt(accessKey, {
      sub: user.sub,
      ...groupClaim,
      iss: issuer,
      client_id: clientId,
      origin_jti: originJti,
      event_id: eventId,
      token_use: 'access',
      scope: 'aws.cognito.signin.user.admin',
      auth_time: authTime,
      exp: iat + validity,
      iat: iat,
      jti: randomUUID(),
      username: user.username,
    });
    const result: Record<string, unknown> = { AccessToken: accessToken, ExpiresIn: validity, TokenType: 'Bearer', IdToken: idToken };
    if (withRefresh) {
      // Cognito's refresh tokens are opaque encrypted JWTs (JWE, five parts); this one is opaque too.
      const refresh = [b64url(JSON.stringify({ cty: 'JWT', enc: 'A256GCM', alg: 'RSA-OAEP' })), ...[256, 12, 512, 16].map((n) => randomBytes(n).toString('base64url'))].join('.');
      refreshTokens.set(refresh, { username: key(user.username), originJti, authTime });
      result.RefreshToken = refresh;
    }
    return result;
  };

  const verify = (token: string, tokenUse?: 'id' | 'access'): CognitoClaims => {
    const { header, payload, signingInput, signature } = decodeJwt(token);
    if (header.alg !== 'RS256') throw new Error(`unsupported alg ${String(header.alg)}`);
    const k = keysByKid.get(String(header.kid));
    if (!k) throw new Error('unknown kid');
    if (!verifySignature('RSA-SHA256', Buffer.from(signingInput), k.publicKey, signature)) throw new Error('invalid signature');
    if (payload.iss !== issuer) throw new Error(`invalid issuer ${String(payload.iss)}`);
    if (typeof payload.exp !== 'number' || payload.exp * 1000 <= now()) throw new Error('token expired');
    if (payload.token_use !== 'id' && payload.token_use !== 'access') throw new Error('invalid token_use');
    if (tokenUse && payload.token_use !== tokenUse) throw new Error(`not an ${tokenUse} token`);
    const audience = payload.token_use === 'id' ? payload.aud : payload.client_id;
    if (audience !== clientId) throw new Error('invalid audience');
    return payload;
  };

  // ---- actions ----

  const checkClient = (id: unknown) => {
    if (id !== clientId) throw new CognitoError('ResourceNotFoundException', `User pool client ${String(id)} does not exist.`);
  };
  const checkPool = (id: unknown) => {
    if (id !== userPoolId) throw new CognitoError('ResourceNotFoundException', `User pool ${String(id)} does not exist.`);
  };
  const adminUser = (input: Record<string, any>): StoredUser => {
    checkPool(input.UserPoolId);
    const user = findUser(required(input, 'Username'));
    if (!user) throw new CognitoError('UserNotFoundException', 'User does not exist.');
    return user;
  };
  const adminGroup = (input: Record<string, any>): StoredGroup => {
    const g = groups.get(required(input, 'GroupName'));
    if (!g) throw new CognitoError('ResourceNotFoundException', 'Group not found.');
    return g;
  };

  const actions: Record<string, (input: Record<string, any>) => unknown> = {
    InitiateAuth(input) {
      checkClient(input.ClientId);
      const flow = required(input, 'AuthFlow');
      const params: Record<string, string> = input.AuthParameters ?? {};
      if (flow === 'REFRESH_TOKEN_AUTH' || flow === 'REFRESH_TOKEN') {
        const stored = refreshTokens.get(params.REFRESH_TOKEN ?? '');
        const user = stored && users.get(stored.username);
        if (!stored || !user) throw new CognitoError('NotAuthorizedException', 'Invalid Refresh Token');
        if (!user.enabled) throw new CognitoError('NotAuthorizedException', 'User is disabled.');
        return { AuthenticationResult: issueTokens(user, stored, false), ChallengeParameters: {} };
      }
      if (flow !== 'USER_PASSWORD_AUTH') throw new CognitoError('InvalidParameterException', `${flow} flow not enabled for this client`);
      if (!params.USERNAME) throw new CognitoError('InvalidParameterException', 'Missing required parameter USERNAME');
      if (!params.PASSWORD) throw new CognitoError('InvalidParameterException', 'Missing required parameter PASSWORD');
      const user = findUser(params.USERNAME);
      // PreventUserExistenceErrors ENABLED: an unknown user is answered like a wrong password.
      if (!user || user.password !== params.PASSWORD) throw new CognitoError('NotAuthorizedException', 'Incorrect username or password.');
      if (!user.enabled) throw new CognitoError('NotAuthorizedException', 'User is disabled.');
      if (user.status === 'FORCE_CHANGE_PASSWORD') {
        const session = randomBytes(96).toString('base64url');
        sessions.set(session, { username: key(user.username), expires: now() + SESSION_MS });
        const attrs = Object.fromEntries([...user.attributes].filter(([n]) => n !== 'sub' && n !== 'email_verified'));
        return {
          ChallengeName: 'NEW_PASSWORD_REQUIRED',
          Session: session,
          ChallengeParameters: { USER_ID_FOR_SRP: user.username, requiredAttributes: '[]', userAttributes: JSON.stringify(attrs) },
        };
      }
      return { AuthenticationResult: issueTokens(user), ChallengeParameters: {} };
    },

    RespondToAuthChallenge(input) {
      checkClient(input.ClientId);
      const name = required(input, 'ChallengeName');
      if (name !== 'NEW_PASSWORD_REQUIRED') throw new CognitoError('InvalidParameterException', `Challenge ${name} is not supported`);
      const session = sessions.get(String(input.Session ?? ''));
      if (!session || session.expires <= now()) throw new CognitoError('NotAuthorizedException', 'Invalid session for the user, session is expired.');
      const responses: Record<string, string> = input.ChallengeResponses ?? {};
      const user = users.get(session.username);
      if (!user || (responses.USERNAME !== undefined && key(responses.USERNAME) !== session.username)) {
        throw new CognitoError('NotAuthorizedException', 'Invalid session for the user.');
      }
      if (!responses.NEW_PASSWORD) throw new CognitoError('InvalidParameterException', 'Missing required parameter NEW_PASSWORD');
      checkPassword(responses.NEW_PASSWORD);
      for (const [k, v] of Object.entries(responses)) if (k.startsWith('userAttributes.')) user.attributes.set(k.slice('userAttributes.'.length), v);
      user.password = responses.NEW_PASSWORD;
      user.status = 'CONFIRMED';
      user.modified = now();
      sessions.delete(String(input.Session));
      return { AuthenticationResult: issueTokens(user), ChallengeParameters: {} };
    },

    AdminCreateUser(input) {
      checkPool(input.UserPoolId);
      const username = required(input, 'Username');
      if (findUser(username)) throw new CognitoError('UsernameExistsException', 'User account already exists');
      if (input.TemporaryPassword !== undefined) checkPassword(input.TemporaryPassword);
      const attrs = Object.fromEntries(((input.UserAttributes ?? []) as Array<{ Name: string; Value: string }>).map((a) => [a.Name, a.Value]));
      const user = addUser(username, input.TemporaryPassword ?? `Tmp-${randomBytes(6).toString('base64url')}1a`, 'FORCE_CHANGE_PASSWORD', attrs);
      return { User: userType(user) };
    },

    AdminGetUser(input) {
      const user = adminUser(input);
      const { Attributes, ...rest } = userType(user);
      return { ...rest, UserAttributes: Attributes };
    },

    AdminSetUserPassword(input) {
      const user = adminUser(input);
      const password = required(input, 'Password');
      checkPassword(password);
      user.password = password;
      user.status = input.Permanent ? 'CONFIRMED' : 'FORCE_CHANGE_PASSWORD';
      user.modified = now();
      return {};
    },

    AdminAddUserToGroup(input) {
      const user = adminUser(input);
      user.groups.add(adminGroup(input).name);
      return {};
    },

    AdminRemoveUserFromGroup(input) {
      const user = adminUser(input);
      user.groups.delete(adminGroup(input).name);
      return {};
    },

    AdminListGroupsForUser(input) {
      const user = adminUser(input);
      return { Groups: [...user.groups].map((g) => groupType(groups.get(g)!)) };
    },

    AdminDisableUser(input) {
      adminUser(input).enabled = false;
      return {};
    },

    AdminEnableUser(input) {
      adminUser(input).enabled = true;
      return {};
    },

    CreateGroup(input) {
      checkPool(input.UserPoolId);
      const name = required(input, 'GroupName');
      if (groups.has(name)) throw new CognitoError('GroupExistsException', 'A group with the name already exists.');
      return { Group: groupType(addGroup(name, input.Description, input.Precedence)) };
    },
  };

  // Timestamps are epoch seconds on the wire, as in every AWS JSON protocol.
  const userType = (u: StoredUser) => ({
    Username: u.username,
    Attributes: [...u.attributes].map(([Name, Value]) => ({ Name, Value })),
    UserCreateDate: u.created / 1000,
    UserLastModifiedDate: u.modified / 1000,
    Enabled: u.enabled,
    UserStatus: u.status,
  });

  const groupType = (g: StoredGroup) => ({
    GroupName: g.name,
    UserPoolId: userPoolId,
    ...(g.description !== undefined && { Description: g.description }),
    ...(g.precedence !== undefined && { Precedence: g.precedence }),
    CreationDate: g.created / 1000,
    LastModifiedDate: g.created / 1000,
  });

  // ---- HTTP ----

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const origin = typeof req.headers.origin === 'string' ? req.headers.origin : '*';
    const cors = { 'Access-Control-Allow-Origin': origin, 'Access-Control-Expose-Headers': CORS_EXPOSE_HEADERS, ...(origin !== '*' && { Vary: 'Origin' }) };
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'OPTIONS') {
      res.writeHead(200, {
        ...cors,
        'Access-Control-Allow-Methods': 'POST',
        'Access-Control-Allow-Headers': req.headers['access-control-request-headers'] ?? CORS_ALLOW_HEADERS,
        'Access-Control-Max-Age': '86400',
        'Content-Length': '0',
      });
      return void res.end();
    }
    if (req.method === 'GET' && path === `/${userPoolId}/.well-known/jwks.json`) return sendJson(res, 200, jwks, cors, 'application/json');
    if (req.method === 'GET' && path === `/${userPoolId}/.well-known/openid-configuration`) {
      return sendJson(res, 200, {
        issuer,
        jwks_uri: `${issuer}/.well-known/jwks.json`,
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        response_types_supported: ['code', 'token'],
        scopes_supported: ['openid', 'email', 'phone', 'profile'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      }, cors, 'application/json');
    }
    const target = req.headers['x-amz-target'];
    if (req.method !== 'POST' || typeof target !== 'string') {
      // What a path Cognito does not serve answers: a 404 without an AWS error body is enough for a stand-in.
      return sendJson(res, 404, { message: 'Not Found' }, cors, 'application/json');
    }
    const body = (await readBody(req, 1024 * 1024)).toString('utf8');
    const action = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
    const requestId = randomUUID();
    try {
      const fn = actions[action];
      if (!fn) throw new CognitoError('UnknownOperationException', `Unknown operation ${target}`);
      let input: Record<string, any>;
      try {
        input = JSON.parse(body || '{}');
      } catch {
        throw new CognitoError('SerializationException', 'Start of structure or map found where not expected.');
      }
      const out = fn(input);
      calls.push({ action });
      sendJson(res, 200, out, { ...cors, 'x-amzn-RequestId': requestId }, JSON_11);
    } catch (err) {
      if (!(err instanceof CognitoError)) throw err;
      calls.push({ action: action || target, error: err.type });
      sendJson(res, 400, { __type: err.type, message: err.message }, { ...cors, 'x-amzn-RequestId': requestId, 'x-amzn-ErrorType': `${err.type}:` }, JSON_11);
    }
  };

  const server = await startLoopbackServer(gated(options.gateway, COGNITO_BINDING, handle), options.port, (res, err) => {
    res.writeHead(500, { 'Content-Type': JSON_11, 'x-amzn-ErrorType': 'InternalErrorException:', 'Access-Control-Allow-Origin': '*' });
    res.end(JSON.stringify({ __type: 'InternalErrorException', message: String((err as Error)?.message ?? err) }));
  }, 'cognito');
  issuer = `${server.url}/${userPoolId}`;

  for (const u of options.users ?? []) createUser(u);

  return {
    url: server.url,
    issuer,
    jwksUri: `${issuer}/.well-known/jwks.json`,
    userPoolId,
    clientId,
    jwks,
    verify,
    createUser,
    createGroup: (name) => void (groups.has(name) || addGroup(name)),
    user: (username) => {
      const u = findUser(username);
      return u && info(u);
    },
    calls,
    close: () => server.close(),
  };
}

/** The password policy of the construct's pool (Cognito's and the CDK's defaults): 8+ chars, lower, upper, digit, symbol. */
export function checkPassword(password: string): void {
  const fail = (why: string) => {
    throw new CognitoError('InvalidPasswordException', `Password does not conform to policy: ${why}`);
  };
  if (password.length < 8) fail('Password not long enough');
  if (!/[a-z]/.test(password)) fail('Password must have lowercase characters');
  if (!/[A-Z]/.test(password)) fail('Password must have uppercase characters');
  if (!/[0-9]/.test(password)) fail('Password must have numeric characters');
  // A space counts as a symbol only inside the password (Cognito rejects leading and trailing spaces).
  if (![...password.trim()].some((c) => SYMBOLS.includes(c))) fail('Password must have symbol characters');
}

function required(input: Record<string, any>, name: string): string {
  const v = input[name];
  if (typeof v !== 'string' || v === '') {
    throw new CognitoError('InvalidParameterException', `1 validation error detected: Value null at '${name[0].toLowerCase()}${name.slice(1)}' failed to satisfy constraint: Member must not be null`);
  }
  return v;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string>, contentType: string): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'Content-Type': contentType, 'Content-Length': String(Buffer.byteLength(text)) });
  res.end(text);
}

function newSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const { n, e } = publicKey.export({ format: 'jwk' }) as { n: string; e: string };
  // RFC 7638 thumbprint, base64 like Cognito's kids (e.g. "1234example=").
  const kid = createHash('sha256').update(JSON.stringify({ e, kty: 'RSA', n })).digest('base64');
  return { kid, privateKey, publicKey, jwk: { alg: 'RS256', e, kid, kty: 'RSA', n, use: 'sig' } };
}

function b64url(s: string | Buffer): string {
  return Buffer.from(s).toString('base64url');
}

function signJwt(key: SigningKey, payload: Record<string, unknown>): string {
  const input = `${b64url(JSON.stringify({ kid: key.kid, alg: 'RS256' }))}.${b64url(JSON.stringify(payload))}`;
  return `${input}.${sign('RSA-SHA256', Buffer.from(input), key.privateKey).toString('base64url')}`;
}

export interface DecodedJwt {
  readonly header: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
  /** `<header>.<payload>` as sent: what the signature signs. */
  readonly signingInput: string;
  readonly signature: Buffer;
}

/** Splits and decodes a compact JWS; throws when it is not one. */
export function decodeJwt(token: string): DecodedJwt {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error('token contains an invalid number of segments');
  try {
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    if (typeof header !== 'object' || header === null || typeof payload !== 'object' || payload === null) throw new Error('not an object');
    return { header, payload, signingInput: `${parts[0]}.${parts[1]}`, signature: Buffer.from(parts[2], 'base64url') };
  } catch {
    throw new Error('the token could not be decoded');
  }
}

/** A public key from a JWK of a JWKS (for verifying tokens against a JWKS fetched over HTTP). */
export function publicKeyFromJwk(jwk: { kty: string; n: string; e: string }): KeyObject {
  return createPublicKey({ key: { kty: jwk.kty, n: jwk.n, e: jwk.e }, format: 'jwk' });
}
