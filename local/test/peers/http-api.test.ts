import * as http from 'node:http';
import { CognitoIdentityProviderClient, InitiateAuthCommand } from '@aws-sdk/client-cognito-identity-provider';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { HttpApi, HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { UserPool } from 'aws-cdk-lib/aws-cognito';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { PUBLIC_ROUTES } from '../../../src/review/console-api';
import { CognitoPeer, startCognito } from '../../src/peers/cognito';
import { HttpApiEvent, HttpApiPeer, startHttpApi } from '../../src/peers/http-api';
import { CfnTemplate, findResource } from '../../src/template-resolver';

const POOL = 'us-east-1_LocalPool';
const CLIENT = 'localconsoleclient000000000';

/** A console-like stack: a user pool and client, one function behind an HTTP API, a JWT authorizer on the /api routes. */
function synthesize(): CfnTemplate {
  const stack = new Stack(new App(), 'Console', { env: { account: '123456789012', region: 'us-east-1' } });
  const pool = new UserPool(stack, 'Users');
  const client = pool.addClient('Console', { authFlows: { userPassword: true }, preventUserExistenceErrors: true });
  const fn = new LambdaFunction(stack, 'ConsoleApi', { runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: Code.fromInline('exports.handler = async () => ({})') });
  const api = new HttpApi(stack, 'Api');
  const integration = new HttpLambdaIntegration('Lambda', fn);
  const authorizer = new HttpJwtAuthorizer('Cognito', `https://cognito-idp.${stack.region}.amazonaws.com/${pool.userPoolId}`, {
    jwtAudience: [client.userPoolClientId],
  });
  for (const route of ['GET /', 'GET /static/{file}', 'GET /api/reviews/{id}', 'POST /api/reviews/{id}/decision', 'GET /api/me']) {
    const [method, path] = route.split(' ');
    api.addRoutes({ path, methods: [method as HttpMethod], integration, authorizer: PUBLIC_ROUTES.includes(route) ? undefined : authorizer });
  }
  return Template.fromStack(stack).toJSON() as CfnTemplate;
}

const template = synthesize();
const functionId = findResource(template, 'AWS::Lambda::Function', 'ConsoleApi');
const physicalIds = {
  [findResource(template, 'AWS::Cognito::UserPool')]: POOL,
  [findResource(template, 'AWS::Cognito::UserPoolClient')]: CLIENT,
};

let cognito: CognitoPeer;
let api: HttpApiPeer;
let idToken: string;
let accessToken: string;
const events: HttpApiEvent[] = [];
/** What the function answers next (default: echo of routeKey and path parameters). */
let answer: (event: HttpApiEvent) => unknown = (e) => ({ statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ route: e.routeKey }) });

const start = (extra: Partial<Parameters<typeof startHttpApi>[0]> = {}) => startHttpApi({
  template,
  physicalIds,
  issuerFor: (iss) => (iss === `https://cognito-idp.us-east-1.amazonaws.com/${POOL}` ? cognito.issuer : iss),
  invoke: async (id, event) => {
    expect(id).toBe(functionId);
    events.push(event);
    return answer(event);
  },
  ...extra,
});

beforeAll(async () => {
  cognito = await startCognito({
    userPoolId: POOL,
    clientId: CLIENT,
    users: [{ username: 'rita', password: 'Reviewer-Pass1', groups: ['reviewers', 'viewers'], email: 'rita@example.com' }],
  });
  api = await start();
  const client = new CognitoIdentityProviderClient({ endpoint: cognito.url, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
  const res = await client.send(new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: CLIENT, AuthParameters: { USERNAME: 'rita', PASSWORD: 'Reviewer-Pass1' } }));
  client.destroy();
  idToken = res.AuthenticationResult!.IdToken!;
  accessToken = res.AuthenticationResult!.AccessToken!;
});

afterAll(async () => {
  await api.close();
  await cognito.close();
});

beforeEach(() => {
  events.length = 0;
});

test('reads the routes, their integration and authorizer from the synthesized template', () => {
  expect(api.routes.map((r) => [r.routeKey, r.authorizationType]).sort()).toEqual([
    ['GET /', 'NONE'],
    ['GET /api/me', 'JWT'],
    ['GET /api/reviews/{id}', 'JWT'],
    ['GET /static/{file}', 'NONE'],
    ['POST /api/reviews/{id}/decision', 'JWT'],
  ]);
  expect(new Set(api.routes.map((r) => r.functionId))).toEqual(new Set([functionId]));
});

test('public routes need no token', async () => {
  const index = await fetch(`${api.url}/`);
  expect(index.status).toBe(200);
  expect(index.headers.get('apigw-requestid')).toMatch(/^[A-Za-z0-9+/]{15}=$/);
  const js = await fetch(`${api.url}/static/app.js`);
  expect(await js.json()).toEqual({ route: 'GET /static/{file}' });
  expect(events.map((e) => [e.routeKey, e.pathParameters, e.requestContext.authorizer])).toEqual([
    ['GET /', undefined, undefined],
    ['GET /static/{file}', { file: 'app.js' }, undefined],
  ]);
});

test('a JWT route without a token is 401 Unauthorized and the function is not invoked', async () => {
  const res = await fetch(`${api.url}/api/me`);
  expect(res.status).toBe(401);
  expect(await res.json()).toEqual({ message: 'Unauthorized' });
  expect(res.headers.get('www-authenticate')).toBe('Bearer');
  expect(res.headers.get('apigw-requestid')).toBeTruthy();
  const garbage = await fetch(`${api.url}/api/me`, { headers: { authorization: 'Bearer not-a-jwt' } });
  expect(garbage.status).toBe(401);
  expect(garbage.headers.get('www-authenticate')).toMatch(/^Bearer scope="" error="invalid_token" error_description=".+"$/);
  expect(events).toHaveLength(0);
  expect(api.requests.at(-1)).toMatchObject({ routeKey: 'GET /api/me', status: 401 });
});

test('a valid ID token reaches the function with its claims as API Gateway passes them', async () => {
  const res = await fetch(`${api.url}/api/reviews/r%2042?status=PENDING&x=1&x=2`, {
    headers: { 'authorization': `Bearer ${idToken}`, 'user-agent': 'console-test', 'cookie': 'a=1; b=2' },
  });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ route: 'GET /api/reviews/{id}' });
  const [e] = events;
  expect(e).toMatchObject({
    version: '2.0',
    routeKey: 'GET /api/reviews/{id}',
    rawPath: '/api/reviews/r%2042',
    rawQueryString: 'status=PENDING&x=1&x=2',
    cookies: ['a=1', 'b=2'],
    queryStringParameters: { status: 'PENDING', x: '1,2' },
    pathParameters: { id: 'r 42' },
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012',
      routeKey: 'GET /api/reviews/{id}',
      stage: '$default',
      http: { method: 'GET', path: '/api/reviews/r 42', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'console-test' },
    },
  });
  expect(e.body).toBeUndefined();
  expect(e.headers.authorization).toBe(`Bearer ${idToken}`);
  expect(e.headers.cookie).toBeUndefined();
  expect(e.requestContext.requestId).toBe(res.headers.get('apigw-requestid'));
  expect(e.requestContext.time).toMatch(/^\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000$/);
  expect(Math.abs(e.requestContext.timeEpoch - Date.now())).toBeLessThan(5000);
  const { claims, scopes } = e.requestContext.authorizer!.jwt;
  expect(scopes).toBeNull();
  expect(claims).toMatchObject({
    'cognito:username': 'rita',
    'cognito:groups': '[reviewers viewers]',
    'token_use': 'id',
    'aud': CLIENT,
    'iss': cognito.issuer,
    'email': 'rita@example.com',
    'email_verified': 'true',
  });
  expect(claims.exp).toMatch(/^\d{10}$/);
  expect(Object.values(claims).every((v) => typeof v === 'string')).toBe(true);
});

test('the token is accepted without the Bearer prefix, and an access token passes by its client_id', async () => {
  expect((await fetch(`${api.url}/api/me`, { headers: { authorization: idToken } })).status).toBe(200);
  expect((await fetch(`${api.url}/api/me`, { headers: { authorization: `Bearer ${accessToken}` } })).status).toBe(200);
  expect(events[1].requestContext.authorizer!.jwt.claims).toMatchObject({ token_use: 'access', client_id: CLIENT, username: 'rita' });
});

test('an expired token is 401', async () => {
  const later = await start({ clock: { now: () => Date.now() + 2 * 3600 * 1000 } });
  try {
    const res = await fetch(`${later.url}/api/me`, { headers: { authorization: `Bearer ${idToken}` } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer scope="" error="invalid_token" error_description="the token has expired"');
    expect(events).toHaveLength(0);
  } finally {
    await later.close();
  }
});

test('a token for another audience is 401 with the documented www-authenticate', async () => {
  const other = await start({ physicalIds: { ...physicalIds, [findResource(template, 'AWS::Cognito::UserPoolClient')]: 'anotherclient' } });
  try {
    for (const token of [idToken, accessToken]) {
      const res = await fetch(`${other.url}/api/me`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer scope="" error="invalid_token" error_description="the token does not have a valid audience"');
    }
  } finally {
    await other.close();
  }
});

test('a token of another issuer is 401 (the template issuer left unmapped)', async () => {
  const unmapped = await start({ issuerFor: undefined, jwks: async () => cognito.jwks });
  try {
    const res = await fetch(`${unmapped.url}/api/me`, { headers: { authorization: `Bearer ${idToken}` } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('issuer');
  } finally {
    await unmapped.close();
  }
});

test('unknown routes and methods are 404 Not Found', async () => {
  for (const [method, path] of [['GET', '/nope'], ['DELETE', '/api/me'], ['GET', '/static'], ['GET', '/static/a/b'], ['POST', '/']]) {
    const res = await fetch(`${api.url}${path}`, { method, headers: { authorization: `Bearer ${idToken}` } });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ message: 'Not Found' });
  }
  expect(events).toHaveLength(0);
});

test('binary request bodies arrive base64-encoded, text bodies as text; base64 responses are decoded', async () => {
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0x00]);
  answer = () => ({ statusCode: 201, headers: { 'content-type': 'image/png' }, body: png.toString('base64'), isBase64Encoded: true, cookies: ['s=1; Path=/', 't=2'] });
  const bin = await fetch(`${api.url}/api/reviews/a1/decision`, { method: 'POST', headers: { 'authorization': idToken, 'content-type': 'image/png' }, body: png });
  expect(bin.status).toBe(201);
  expect(Buffer.from(await bin.arrayBuffer())).toEqual(png);
  expect(bin.headers.get('content-type')).toBe('image/png');
  expect(bin.headers.getSetCookie()).toEqual(['s=1; Path=/', 't=2']);
  expect(events[0]).toMatchObject({ routeKey: 'POST /api/reviews/{id}/decision', pathParameters: { id: 'a1' }, isBase64Encoded: true, body: png.toString('base64') });

  answer = (e) => ({ received: JSON.parse(e.body!) });
  const json = await fetch(`${api.url}/api/reviews/a1/decision`, {
    method: 'POST',
    headers: { 'authorization': idToken, 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify({ label: 'cat' }),
  });
  // A result without statusCode: 200, application/json, the result as body.
  expect(json.status).toBe(200);
  expect(json.headers.get('content-type')).toBe('application/json');
  expect(await json.json()).toEqual({ received: { label: 'cat' } });
  expect(events[1]).toMatchObject({ isBase64Encoded: false, body: '{"label":"cat"}' });
});

test('a failing function, or a malformed answer, is 500 Internal Server Error', async () => {
  answer = () => {
    throw new Error('boom');
  };
  const failed = await fetch(`${api.url}/`);
  expect(failed.status).toBe(500);
  expect(await failed.json()).toEqual({ message: 'Internal Server Error' });
  expect(api.requests.at(-1)).toMatchObject({ status: 500, error: 'boom', functionId });
  answer = () => ({ statusCode: 200, body: { not: 'a string' } });
  expect((await fetch(`${api.url}/`)).status).toBe(500);
});

test('duplicate headers are lower-cased and comma-joined', async () => {
  answer = () => ({ statusCode: 204 });
  await new Promise<void>((resolve, reject) => {
    const req = http.request(`${api.url}/`, { method: 'GET' }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.setHeader('X-Dup', ['a', 'b']);
    req.on('error', reject);
    req.end();
  });
  expect(events[0].headers['x-dup']).toBe('a,b');
  expect(events[0].headers['x-forwarded-for']).toBe('127.0.0.1');
  expect(events[0].headers['x-amzn-trace-id']).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
});

test('a body over the 10 MB payload quota is 413', async () => {
  const res = await fetch(`${api.url}/api/reviews/a1/decision`, {
    method: 'POST',
    headers: { 'authorization': idToken, 'content-type': 'application/octet-stream' },
    body: Buffer.alloc(10 * 1024 * 1024 + 1),
  });
  expect(res.status).toBe(413);
  expect(events).toHaveLength(0);
});

describe('route selection', () => {
  const route = (id: string, routeKey: string, extra: Record<string, unknown> = {}) => ({
    [id]: {
      Type: 'AWS::ApiGatewayV2::Route',
      Properties: { ApiId: { Ref: 'Api' }, RouteKey: routeKey, Target: { 'Fn::Join': ['', ['integrations/', { Ref: 'Integ' }]] }, ...extra },
    },
  });
  const selection: CfnTemplate = {
    Resources: {
      Api: { Type: 'AWS::ApiGatewayV2::Api', Properties: { Name: 'x', ProtocolType: 'HTTP', CorsConfiguration: { AllowOrigins: ['http://page.local'], AllowMethods: ['GET', 'POST'], AllowHeaders: ['authorization'] } } },
      Fn: { Type: 'AWS::Lambda::Function', Properties: {} },
      Integ: { Type: 'AWS::ApiGatewayV2::Integration', Properties: { ApiId: { Ref: 'Api' }, IntegrationType: 'AWS_PROXY', IntegrationUri: { 'Fn::GetAtt': ['Fn', 'Arn'] }, PayloadFormatVersion: '2.0' } },
      ...route('R1', 'GET /pets/dog/1'),
      ...route('R2', 'GET /pets/dog/{id}'),
      ...route('R3', 'GET /pets/{proxy+}'),
      ...route('R4', 'ANY /{proxy+}'),
      ...route('R5', 'ANY /pets/dog/{id}'),
      ...route('R6', '$default'),
    },
  };
  let peer: HttpApiPeer;
  const routed: string[] = [];
  beforeAll(async () => {
    peer = await startHttpApi({ template: selection, invoke: async (_id, e) => void routed.push(`${e.routeKey} ${JSON.stringify(e.pathParameters ?? {})}`) });
  });
  afterAll(() => peer.close());

  test('most specific first, greedy next, $default last (the developer guide example)', async () => {
    for (const [method, path] of [['GET', '/pets/dog/1'], ['GET', '/pets/dog/2'], ['POST', '/pets/dog/2'], ['GET', '/pets/cat/1'], ['GET', '/pets/cat/a/b'], ['POST', '/x/y'], ['GET', '/']]) {
      expect((await fetch(`${peer.url}${path}`, { method })).status).toBe(200);
    }
    expect(routed).toEqual([
      'GET /pets/dog/1 {}',
      'GET /pets/dog/{id} {"id":"2"}',
      'ANY /pets/dog/{id} {"id":"2"}',
      'GET /pets/{proxy+} {"proxy":"cat/1"}',
      'GET /pets/{proxy+} {"proxy":"cat/a/b"}',
      'ANY /{proxy+} {"proxy":"x/y"}',
      '$default {}',
    ]);
  });

  test('CORS preflight is answered by the API from its CorsConfiguration', async () => {
    const res = await fetch(`${peer.url}/pets/dog/1`, { method: 'OPTIONS', headers: { 'origin': 'http://page.local', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://page.local');
    expect(res.headers.get('access-control-allow-methods')).toBe('GET,POST');
    expect(res.headers.get('access-control-allow-headers')).toBe('authorization');
    const get = await fetch(`${peer.url}/pets/dog/1`, { headers: { origin: 'http://page.local' } });
    expect(get.headers.get('access-control-allow-origin')).toBe('http://page.local');
  });
});
