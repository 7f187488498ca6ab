import { createPublicKey, verify } from 'node:crypto';
import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminGetUserCommand,
  AdminRemoveUserFromGroupCommand,
  AdminSetUserPasswordCommand,
  CognitoIdentityProviderClient,
  CreateGroupCommand,
  InitiateAuthCommand,
  RespondToAuthChallengeCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { CognitoPeer, checkPassword, startCognito } from '../../src/peers/cognito';

const POOL = 'us-east-1_LocalPool';
const CLIENT = 'localconsoleclient000000000';
let peer: CognitoPeer;
let client: CognitoIdentityProviderClient;

beforeAll(async () => {
  peer = await startCognito({
    userPoolId: POOL,
    clientId: CLIENT,
    groups: ['reviewers', 'viewers'],
    users: [{ username: 'rita', password: 'Reviewer-Pass1', groups: ['reviewers', 'viewers'], email: 'rita@example.com' }],
  });
  client = new CognitoIdentityProviderClient({ endpoint: peer.url, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
});

afterAll(async () => {
  client.destroy();
  await peer.close();
});

const signIn = (username: string, password: string, clientId = CLIENT) =>
  client.send(new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: clientId, AuthParameters: { USERNAME: username, PASSWORD: password } }));

function decode(token: string): { header: any; payload: any } {
  const [h, p] = token.split('.');
  return { header: JSON.parse(Buffer.from(h, 'base64url').toString()), payload: JSON.parse(Buffer.from(p, 'base64url').toString()) };
}

test('signs a confirmed user in with USER_PASSWORD_AUTH and answers Cognito-shaped tokens', async () => {
  const res = await signIn('rita', 'Reviewer-Pass1');
  expect(res.ChallengeName).toBeUndefined();
  const result = res.AuthenticationResult!;
  expect(result).toMatchObject({ ExpiresIn: 3600, TokenType: 'Bearer' });
  expect(result.RefreshToken!.split('.')).toHaveLength(5);

  const now = Math.floor(Date.now() / 1000);
  const id = decode(result.IdToken!);
  expect(Object.keys(id.header)).toEqual(['kid', 'alg']);
  expect(id.header.alg).toBe('RS256');
  expect(id.payload).toMatchObject({
    'aud': CLIENT,
    'iss': `${peer.url}/${POOL}`,
    'token_use': 'id',
    'cognito:username': 'rita',
    'cognito:groups': ['reviewers', 'viewers'],
    'email': 'rita@example.com',
    'email_verified': true,
  });
  expect(id.payload.sub).toMatch(/^[0-9a-f-]{36}$/);
  expect(id.payload.exp - id.payload.iat).toBe(3600);
  expect(Math.abs(id.payload.iat - now)).toBeLessThanOrEqual(2);
  expect(id.payload.auth_time).toBe(id.payload.iat);
  for (const c of ['jti', 'origin_jti', 'event_id']) expect(id.payload[c]).toMatch(/^[0-9a-f-]{36}$/);

  const access = decode(result.AccessToken!);
  expect(access.payload).toMatchObject({
    'client_id': CLIENT,
    'token_use': 'access',
    'scope': 'aws.cognito.signin.user.admin',
    'username': 'rita',
    'cognito:groups': ['reviewers', 'viewers'],
    'sub': id.payload.sub,
    'origin_jti': id.payload.origin_jti,
    'event_id': id.payload.event_id,
  });
  expect(access.payload.aud).toBeUndefined();
  // ID and access tokens are signed with different keys of the pool, as Cognito does.
  expect(access.header.kid).not.toBe(id.header.kid);

  expect(peer.verify(result.IdToken!, 'id')['cognito:username']).toBe('rita');
  expect(peer.verify(result.AccessToken!, 'access').username).toBe('rita');
  expect(() => peer.verify(result.AccessToken!, 'id')).toThrow(/not an id token/);
});

test('the tokens verify against the JWKS and the OpenID configuration the pool serves', async () => {
  const { IdToken, AccessToken } = (await signIn('rita', 'Reviewer-Pass1')).AuthenticationResult!;
  const config = await (await fetch(`${peer.issuer}/.well-known/openid-configuration`)).json() as { issuer: string; jwks_uri: string };
  expect(config.issuer).toBe(peer.issuer);
  expect(config.jwks_uri).toBe(`${peer.issuer}/.well-known/jwks.json`);
  type Jwk = { kid: string; kty: string; n: string; e: string; alg: string; use: string };
  const jwks = await (await fetch(config.jwks_uri)).json() as { keys: Jwk[] };
  expect(jwks.keys).toHaveLength(2);
  for (const token of [IdToken!, AccessToken!]) {
    const [h, p, s] = token.split('.');
    const jwk = jwks.keys.find((k) => k.kid === decode(token).header.kid)!;
    expect(jwk).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    const key = createPublicKey({ key: { kty: jwk.kty, n: jwk.n, e: jwk.e }, format: 'jwk' });
    expect(verify('RSA-SHA256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'))).toBe(true);
    // A changed payload does not verify.
    const forged = Buffer.from(JSON.stringify({ ...decode(token).payload, 'cognito:groups': ['admins'] })).toString('base64url');
    expect(verify('RSA-SHA256', Buffer.from(`${h}.${forged}`), key, Buffer.from(s, 'base64url'))).toBe(false);
    expect(() => peer.verify(`${h}.${forged}.${s}`)).toThrow(/invalid signature/);
  }
});

test('a wrong password and an unknown user are both NotAuthorizedException (user existence errors prevented)', async () => {
  for (const [user, password] of [['rita', 'Wrong-Pass1'], ['nobody', 'Reviewer-Pass1']]) {
    const err = await signIn(user, password).catch((e) => e);
    expect(err.name).toBe('NotAuthorizedException');
    expect(err.message).toBe('Incorrect username or password.');
    expect(err.$metadata.httpStatusCode).toBe(400);
  }
});

test('a wrong client id is ResourceNotFoundException, another flow InvalidParameterException', async () => {
  const err = await signIn('rita', 'Reviewer-Pass1', 'otherclient').catch((e) => e);
  expect(err.name).toBe('ResourceNotFoundException');
  const flow = await client.send(new InitiateAuthCommand({ AuthFlow: 'USER_SRP_AUTH', ClientId: CLIENT, AuthParameters: { USERNAME: 'rita', SRP_A: 'ab' } }))
    .catch((e) => e);
  expect(flow.name).toBe('InvalidParameterException');
});

test('an admin-created user answers NEW_PASSWORD_REQUIRED and signs in after setting a password the policy accepts', async () => {
  const created = await client.send(new AdminCreateUserCommand({
    UserPoolId: POOL,
    Username: 'victor',
    TemporaryPassword: 'Temp-Pass1',
    UserAttributes: [{ Name: 'email', Value: 'victor@example.com' }],
    MessageAction: 'SUPPRESS',
  }));
  expect(created.User).toMatchObject({ Username: 'victor', UserStatus: 'FORCE_CHANGE_PASSWORD', Enabled: true });
  expect(created.User!.UserCreateDate).toBeInstanceOf(Date);
  expect(created.User!.Attributes).toEqual(expect.arrayContaining([{ Name: 'email', Value: 'victor@example.com' }]));
  await client.send(new AdminAddUserToGroupCommand({ UserPoolId: POOL, Username: 'victor', GroupName: 'viewers' }));

  const first = await signIn('victor', 'Temp-Pass1');
  expect(first.AuthenticationResult).toBeUndefined();
  expect(first.ChallengeName).toBe('NEW_PASSWORD_REQUIRED');
  expect(first.ChallengeParameters).toMatchObject({ USER_ID_FOR_SRP: 'victor', requiredAttributes: '[]' });
  expect(JSON.parse(first.ChallengeParameters!.userAttributes)).toEqual({ email: 'victor@example.com' });

  const respond = (password: string, session = first.Session) => client.send(new RespondToAuthChallengeCommand({
    ClientId: CLIENT,
    ChallengeName: 'NEW_PASSWORD_REQUIRED',
    Session: session,
    ChallengeResponses: { USERNAME: 'victor', NEW_PASSWORD: password },
  }));
  const weakPasswords = [['Sh0rt!', 'not long enough'], ['nouppercase1!', 'uppercase'], ['NOLOWERCASE1!', 'lowercase'], ['NoDigits!!', 'numeric'], ['NoSymbols11', 'symbol']];
  for (const [weak, why] of weakPasswords) {
    const err = await respond(weak).catch((e) => e);
    expect(err.name).toBe('InvalidPasswordException');
    expect(err.message).toContain(why);
  }
  expect((await respond('New-Pass1', 'not-a-session').catch((e) => e)).name).toBe('NotAuthorizedException');

  const done = await respond('Viewer-Pass1');
  expect(done.AuthenticationResult!.IdToken).toBeDefined();
  expect(decode(done.AuthenticationResult!.IdToken!).payload['cognito:groups']).toEqual(['viewers']);
  expect(peer.user('victor')!.status).toBe('CONFIRMED');
  // The session is spent; the old password no longer works, the new one does.
  expect((await respond('Other-Pass1').catch((e) => e)).name).toBe('NotAuthorizedException');
  expect((await signIn('victor', 'Temp-Pass1').catch((e) => e)).name).toBe('NotAuthorizedException');
  expect((await signIn('victor', 'Viewer-Pass1')).AuthenticationResult).toBeDefined();
});

test('AdminSetUserPassword Permanent confirms a user; groups are created, joined and left', async () => {
  await client.send(new AdminCreateUserCommand({ UserPoolId: POOL, Username: 'olga', TemporaryPassword: 'Temp-Pass1' }));
  await client.send(new AdminSetUserPasswordCommand({ UserPoolId: POOL, Username: 'olga', Password: 'Olga-Pass1', Permanent: true }));
  expect((await client.send(new AdminGetUserCommand({ UserPoolId: POOL, Username: 'olga' }))).UserStatus).toBe('CONFIRMED');

  const group = await client.send(new CreateGroupCommand({ UserPoolId: POOL, GroupName: 'auditors', Description: 'read the audit trail' }));
  expect(group.Group).toMatchObject({ GroupName: 'auditors', UserPoolId: POOL, Description: 'read the audit trail' });
  expect((await client.send(new CreateGroupCommand({ UserPoolId: POOL, GroupName: 'auditors' })).catch((e) => e)).name).toBe('GroupExistsException');

  const tokens = async () => decode((await signIn('olga', 'Olga-Pass1')).AuthenticationResult!.IdToken!).payload;
  // No groups: no cognito:groups claim at all, as Cognito issues it.
  expect(await tokens()).not.toHaveProperty('cognito:groups');
  await client.send(new AdminAddUserToGroupCommand({ UserPoolId: POOL, Username: 'olga', GroupName: 'auditors' }));
  expect((await tokens())['cognito:groups']).toEqual(['auditors']);
  await client.send(new AdminRemoveUserFromGroupCommand({ UserPoolId: POOL, Username: 'olga', GroupName: 'auditors' }));
  expect(await tokens()).not.toHaveProperty('cognito:groups');

  const missingGroup = await client.send(new AdminAddUserToGroupCommand({ UserPoolId: POOL, Username: 'olga', GroupName: 'nope' })).catch((e) => e);
  expect(missingGroup.name).toBe('ResourceNotFoundException');
  const missingUser = await client.send(new AdminSetUserPasswordCommand({ UserPoolId: POOL, Username: 'nobody', Password: 'Some-Pass1', Permanent: true }))
    .catch((e) => e);
  expect(missingUser.name).toBe('UserNotFoundException');
  const weak = await client.send(new AdminSetUserPasswordCommand({ UserPoolId: POOL, Username: 'olga', Password: 'weak', Permanent: true })).catch((e) => e);
  expect(weak.name).toBe('InvalidPasswordException');
  const wrongPool = await client.send(new AdminGetUserCommand({ UserPoolId: 'us-east-1_Other', Username: 'olga' })).catch((e) => e);
  expect(wrongPool.name).toBe('ResourceNotFoundException');
});

test('refresh tokens issue new ID and access tokens', async () => {
  const first = (await signIn('rita', 'Reviewer-Pass1')).AuthenticationResult!;
  const refreshed = await client.send(new InitiateAuthCommand({ AuthFlow: 'REFRESH_TOKEN_AUTH', ClientId: CLIENT, AuthParameters: { REFRESH_TOKEN: first.RefreshToken! } }));
  expect(refreshed.AuthenticationResult!.RefreshToken).toBeUndefined();
  expect(decode(refreshed.AuthenticationResult!.IdToken!).payload.origin_jti).toBe(decode(first.IdToken!).payload.origin_jti);
  const bad = await client.send(new InitiateAuthCommand({ AuthFlow: 'REFRESH_TOKEN_AUTH', ClientId: CLIENT, AuthParameters: { REFRESH_TOKEN: 'x.y.z.w.v' } }))
    .catch((e) => e);
  expect(bad.name).toBe('NotAuthorizedException');
});

test('errors are AWS JSON 1.1 with __type, and CORS is answered for a page on another origin', async () => {
  const res = await fetch(peer.url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSCognitoIdentityProviderService.InitiateAuth', 'origin': 'http://127.0.0.1:5555' },
    body: JSON.stringify({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: CLIENT, AuthParameters: { USERNAME: 'rita', PASSWORD: 'nope' } }),
  });
  expect(res.status).toBe(400);
  expect(res.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:5555');
  expect(await res.json()).toEqual({ __type: 'NotAuthorizedException', message: 'Incorrect username or password.' });

  const preflight = await fetch(peer.url, {
    method: 'OPTIONS',
    headers: { 'origin': 'http://127.0.0.1:5555', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-amz-target,x-amz-user-agent' },
  });
  expect(preflight.status).toBe(200);
  expect(preflight.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:5555');
  expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
  expect(preflight.headers.get('access-control-allow-headers')).toContain('x-amz-target');

  const jwks = await fetch(`${peer.issuer}/.well-known/jwks.json`);
  expect(jwks.headers.get('access-control-allow-origin')).toBe('*');
});

test('the password policy: 8 characters with lower, upper, digit and symbol', () => {
  expect(() => checkPassword('Aa1!aaaa')).not.toThrow();
  expect(() => checkPassword('Aa1 aaaa')).not.toThrow();
  expect(() => checkPassword('Aa1aaaa ')).toThrow(/symbol/);
});

test('tokens expire by the peer clock', async () => {
  let offset = 0;
  const clocked = await startCognito({ users: [{ username: 'u', password: 'User-Pass1' }], clock: { now: () => Date.now() + offset } });
  try {
    const c = new CognitoIdentityProviderClient({ endpoint: clocked.url, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
    const { IdToken } = (await c.send(new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: clocked.clientId, AuthParameters: { USERNAME: 'u', PASSWORD: 'User-Pass1' } })))
      .AuthenticationResult!;
    c.destroy();
    expect(clocked.verify(IdToken!).token_use).toBe('id');
    offset = 3601 * 1000;
    expect(() => clocked.verify(IdToken!)).toThrow(/expired/);
    expect(() => peer.verify(IdToken!)).toThrow(/unknown kid/);
  } finally {
    await clocked.close();
  }
});
