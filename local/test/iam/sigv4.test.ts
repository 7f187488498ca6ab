import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { AdminGetUserCommand, CognitoIdentityProviderClient, InitiateAuthCommand } from '@aws-sdk/client-cognito-identity-provider';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { FirehoseClient, PutRecordCommand } from '@aws-sdk/client-firehose';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { type IssuedCredentials, LocalCredentials } from '../../src/iam/credentials';
import type { CallPrincipal } from '../../src/iam/model';
import { COGNITO_UNSIGNED_OPERATIONS, refuseAuthentication, refuseAuthorization, type WireService } from '../../src/iam/refusals';
import { type SigV4Result, verifySigV4 } from '../../src/iam/sigv4';

const REGION = 'us-east-1';
const FN_ROLE: CallPrincipal = { kind: 'role', roleArn: 'arn:aws:iam::123456789012:role/stack-ClassifyFn-ServiceRole' };
const SM_ROLE: CallPrincipal = { kind: 'role', roleArn: 'arn:aws:iam::123456789012:role/stack-StateMachineRole' };

const creds = new LocalCredentials();
const fnCreds = creds.issue(FN_ROLE);
const smCreds = creds.issue(SM_ROLE);

/** The service the server plays for the next request: the wire it answers on and the scope's signing name. */
let mode: { wire: WireService; signing: string; deny?: string } = { wire: 's3', signing: 's3' };
/** How far the server's clock is ahead of the machine's. */
let serverClockOffset = 0;
const results: SigV4Result[] = [];
const bodies: Buffer[] = [];
let server: http.Server;
let url: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      bodies.push(body);
      const result = verifySigV4(req, creds, { service: mode.signing, region: REGION, body, now: () => Date.now() + serverClockOffset });
      results.push(result);
      if (!result.ok) return refuseAuthentication(res, mode.wire, result, { method: req.method });
      if (result.anonymous) {
        // The caller decides what an unsigned request may do: a CORS preflight, Cognito's public operations.
        const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1];
        if (req.method === 'OPTIONS') {
          res.writeHead(200, { 'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Methods': 'GET, PUT' });
          return res.end();
        }
        if (!(mode.wire === 'cognito-idp' && COGNITO_UNSIGNED_OPERATIONS.has(operation))) {
          return refuseAuthentication(res, mode.wire, { code: 'MissingAuthentication' }, { method: req.method });
        }
      }
      if (mode.deny) return refuseAuthorization(res, mode.wire, mode.deny, { method: req.method });
      answer(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  results.length = 0;
  bodies.length = 0;
  serverClockOffset = 0;
});

/** Just enough of each service's success answer for its SDK client to parse. */
function answer(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): void {
  switch (mode.wire) {
    case 's3':
      res.writeHead(200, { 'ETag': '"0"', 'Content-Type': 'application/octet-stream' });
      return void res.end(req.method === 'GET' ? 'object' : undefined);
    case 'sns':
      res.writeHead(200, { 'Content-Type': 'text/xml' });
      return void res.end('<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId>' +
        '</PublishResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></PublishResponse>');
    case 'sqs': {
      const md5 = createHash('md5').update(JSON.parse(body.toString()).MessageBody).digest('hex');
      res.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.0' });
      return void res.end(JSON.stringify({ MessageId: 'm-1', MD5OfMessageBody: md5 }));
    }
    case 'sagemaker-runtime':
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return void res.end('[0.9, 0.1]');
    default:
      res.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.0' });
      return void res.end('{}');
  }
}

type Config = { credentials?: IssuedCredentials; systemClockOffset?: number; region?: string };
const base = (c: Config = {}) => ({
  endpoint: url,
  region: c.region ?? REGION,
  credentials: c.credentials ?? fnCreds,
  maxAttempts: 1,
  ...(c.systemClockOffset !== undefined && { systemClockOffset: c.systemClockOffset }),
});
const s3 = (c: Config = {}, checksums: 'WHEN_REQUIRED' | 'WHEN_SUPPORTED' = 'WHEN_REQUIRED') =>
  tamperable(new S3Client({ ...base(c), forcePathStyle: true, requestChecksumCalculation: checksums }));

/** Passes the client's requests through `tamper` after signing (the deserialize step runs after the signer). */
function tamperable<C extends { middlewareStack: S3Client['middlewareStack'] }>(client: C): C {
  client.middlewareStack.add((next) => async (a) => {
    tamper?.(a.request as WireRequest);
    return next(a);
  }, { step: 'deserialize', name: 'testTamper', priority: 'low' });
  return client;
}

/** One call per client, each setting the mode the server plays. */
const CALLS: Record<string, (c?: Config) => Promise<unknown>> = {
  s3: (c) => (mode = { wire: 's3', signing: 's3' }, s3(c).send(new GetObjectCommand({ Bucket: 'uploads', Key: 'a.jpg' }))),
  sns: (c) => (mode = { wire: 'sns', signing: 'sns' },
  tamperable(new SNSClient(base(c))).send(new PublishCommand({ TopicArn: 'arn:aws:sns:us-east-1:123456789012:alerts', Message: 'hi' }))),
  sqs: (c) => (mode = { wire: 'sqs', signing: 'sqs' },
  tamperable(new SQSClient(base(c))).send(new SendMessageCommand({ QueueUrl: `${url}/123456789012/q`, MessageBody: 'hello' }))),
  dynamodb: (c) => (mode = { wire: 'dynamodb', signing: 'dynamodb' },
  tamperable(new DynamoDBClient(base(c))).send(new GetItemCommand({ TableName: 'audit', Key: { pk: { S: 'a' } } }))),
  sfn: (c) => (mode = { wire: 'states', signing: 'states' },
  tamperable(new SFNClient(base(c))).send(new StartExecutionCommand({ stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:sm', input: '{}' }))),
  firehose: (c) => (mode = { wire: 'firehose', signing: 'firehose' },
  tamperable(new FirehoseClient(base(c))).send(new PutRecordCommand({ DeliveryStreamName: 'audit', Record: { Data: Buffer.from('x') } }))),
  cognito: (c) => (mode = { wire: 'cognito-idp', signing: 'cognito-idp' },
  tamperable(new CognitoIdentityProviderClient(base(c))).send(new AdminGetUserCommand({ UserPoolId: 'us-east-1_abc', Username: 'u' }))),
  sagemaker: (c) => (mode = { wire: 'sagemaker-runtime', signing: 'sagemaker' },
  tamperable(new SageMakerRuntimeClient(base(c))).send(new InvokeEndpointCommand({ EndpointName: 'my endpoint+1', Body: Buffer.from('img'), ContentType: 'image/jpeg' }))),
};

/** What each client raises, per refusal: AWS's error names. */
interface Expected {
  readonly badSignature: string;
  readonly unknownKey: string;
  readonly unsigned: string;
  readonly skew: string;
  readonly denied: string;
}
const JSON_ERRORS: Expected = {
  badSignature: 'InvalidSignatureException',
  unknownKey: 'UnrecognizedClientException',
  unsigned: 'MissingAuthenticationTokenException',
  skew: 'InvalidSignatureException',
  denied: 'AccessDeniedException',
};
const QUERY_ERRORS = { badSignature: 'SignatureDoesNotMatch', unknownKey: 'InvalidClientTokenId', unsigned: 'MissingAuthenticationToken', skew: 'SignatureDoesNotMatch' };
const EXPECTED: Record<string, Expected> = {
  s3: { badSignature: 'SignatureDoesNotMatch', unknownKey: 'InvalidAccessKeyId', unsigned: 'AccessDenied', skew: 'RequestTimeTooSkewed', denied: 'AccessDenied' },
  // The SDK names SNS's modeled AuthorizationError after its shape.
  sns: { ...QUERY_ERRORS, denied: 'AuthorizationErrorException' },
  // SQS's JSON protocol is query-compatible: the SDK raises the query code of x-amzn-query-error.
  sqs: { ...QUERY_ERRORS, denied: 'AccessDenied' },
  dynamodb: JSON_ERRORS,
  sfn: JSON_ERRORS,
  firehose: JSON_ERRORS,
  cognito: JSON_ERRORS,
  sagemaker: JSON_ERRORS,
};

const CLIENTS = Object.keys(CALLS);
const fail = (p: Promise<unknown>) => p.then(() => undefined, (e: Error & { $metadata?: { httpStatusCode?: number } }) => e);
const last = () => results[results.length - 1];

type WireRequest = { headers: Record<string, string>; body?: unknown; query?: Record<string, unknown> };
/** Edits the next signed request just before it is sent (see {@link tamperable}). */
let tamper: ((req: WireRequest) => void) | undefined;

async function withTamper<T>(edit: (req: WireRequest) => void, call: () => Promise<T>): Promise<T> {
  tamper = edit;
  try {
    return await call();
  } finally {
    tamper = undefined;
  }
}

describe('every client signs as its principal', () => {
  test.each(CLIENTS)('%s: the signed request verifies and maps to the function role', async (name) => {
    await CALLS[name]();
    expect(last()).toEqual({ ok: true, principal: FN_ROLE, accessKeyId: fnCreds.accessKeyId, presigned: false });
  });

  test('another principal\'s credentials map to that principal', async () => {
    await CALLS.sfn({ credentials: smCreds });
    expect(last()).toMatchObject({ ok: true, principal: SM_ROLE });
  });

  test('a long-term key (no session token) verifies', async () => {
    const cli = creds.registerLongTerm({ kind: 'role', roleArn: 'arn:aws:iam::123456789012:role/admin' });
    expect(cli.accessKeyId).toMatch(/^AKIA[A-Z0-9]{16}$/);
    expect(cli.sessionToken).toBeUndefined();
    await CALLS.dynamodb({ credentials: cli });
    expect(last()).toMatchObject({ ok: true, accessKeyId: cli.accessKeyId });
  });
});

describe('refusals raise the exception AWS would', () => {
  test.each(CLIENTS)('%s: a wrong secret', async (name) => {
    const err = await fail(CALLS[name]({ credentials: { ...fnCreds, secretAccessKey: 'wrong' } }));
    expect(err?.name).toBe(EXPECTED[name].badSignature);
    expect(last()).toMatchObject({ ok: false, code: 'SignatureMismatch' });
  });

  test.each(CLIENTS)('%s: an unknown key', async (name) => {
    const err = await fail(CALLS[name]({ credentials: { accessKeyId: 'ASIAAAAAAAAAAAAAAAAA', secretAccessKey: 'x', sessionToken: 't' } }));
    expect(err?.name).toBe(EXPECTED[name].unknownKey);
  });

  test.each(CLIENTS)('%s: a temporary key without its session token', async (name) => {
    const err = await fail(CALLS[name]({ credentials: { accessKeyId: fnCreds.accessKeyId, secretAccessKey: fnCreds.secretAccessKey } }));
    expect(err?.name).toBe(EXPECTED[name].unknownKey);
    expect(last()).toMatchObject({ ok: false, code: 'MissingSecurityToken' });
  });

  test.each(CLIENTS)('%s: a wrong session token', async (name) => {
    const err = await fail(CALLS[name]({ credentials: { ...fnCreds, sessionToken: smCreds.sessionToken } }));
    expect(err?.name).toBe(name === 's3' ? 'InvalidToken' : EXPECTED[name].unknownKey);
    expect(last()).toMatchObject({ ok: false, code: 'InvalidSecurityToken' });
  });

  test.each(CLIENTS)('%s: an unsigned request', async (name) => {
    const err = await fail(withTamper((req) => void delete req.headers.authorization, () => CALLS[name]()));
    expect(err?.name).toBe(EXPECTED[name].unsigned);
    expect(last()).toEqual({ ok: true, anonymous: true });
  });

  test.each(CLIENTS)('%s: a clock 20 minutes behind', async (name) => {
    const err = await fail(CALLS[name]({ systemClockOffset: -20 * 60_000 }));
    expect(err?.name).toBe(EXPECTED[name].skew);
    expect(last()).toMatchObject({ ok: false, code: 'RequestTimeTooSkewed' });
    if (name === 'dynamodb') expect(err?.message).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)$/);
  });

  test('a clock 20 minutes ahead is not yet current', async () => {
    const err = await fail(CALLS.dynamodb({ systemClockOffset: 20 * 60_000 }));
    expect(err?.message).toMatch(/^Signature not yet current: /);
  });

  test.each(CLIENTS)('%s: a denial', async (name) => {
    const message = `User: arn:aws:sts::123456789012:assumed-role/fn/x is not authorized to perform: ${name}:Call`;
    const err = await fail(withTamper(() => mode.deny = message, () => CALLS[name]()));
    expect(err?.name).toBe(EXPECTED[name].denied);
    expect(err?.message).toBe(message);
  });

  test('a scope naming another region', async () => {
    const err = await fail(CALLS.dynamodb({ region: 'eu-west-1' }));
    expect(err?.name).toBe('InvalidSignatureException');
    expect(last()).toMatchObject({ ok: false, code: 'ScopeMismatch', message: 'Credential should be scoped to a valid region.' });
  });

  test('status codes: 400 for JSON RPC, 403 for REST-JSON, S3 and the query protocol', async () => {
    const status = async (name: string) => (await fail(CALLS[name]({ credentials: { ...fnCreds, secretAccessKey: 'wrong' } })))?.$metadata?.httpStatusCode;
    expect(await status('dynamodb')).toBe(400);
    expect(await status('sagemaker')).toBe(403);
    expect(await status('s3')).toBe(403);
    expect(await status('sns')).toBe(403);
    expect(await status('sqs')).toBe(403);
  });
});

describe('tampering after signing', () => {
  test('a changed body (DynamoDB)', async () => {
    const err = await fail(withTamper((req) => void (req.body = Buffer.from(req.body as Uint8Array).toString().replace('audit', 'other')), () => CALLS.dynamodb()));
    expect(err?.name).toBe('InvalidSignatureException');
  });

  test('a changed signed header (Step Functions X-Amz-Target)', async () => {
    const err = await fail(withTamper((req) => void (req.headers['x-amz-target'] = 'AWSStepFunctions.StopExecution'), () => CALLS.sfn()));
    expect(err?.name).toBe('InvalidSignatureException');
  });

  test('a changed query (S3)', async () => {
    const err = await fail(withTamper((req) => void (req.query = { ...req.query, versionId: 'v2' }), () => CALLS.s3()));
    expect(err?.name).toBe('SignatureDoesNotMatch');
  });

  test('a changed S3 body no longer matches its signed x-amz-content-sha256', async () => {
    mode = { wire: 's3', signing: 's3' };
    const err = await fail(withTamper((req) => void (req.body = Buffer.from('evil!')), () =>
      s3().send(new PutObjectCommand({ Bucket: 'uploads', Key: 'a.jpg', Body: Buffer.from('image') }))));
    expect(err?.name).toBe('XAmzContentSHA256Mismatch');
  });
});

describe('S3', () => {
  beforeEach(() => (mode = { wire: 's3', signing: 's3' }));
  const KEYS = ['with space/a b.jpg', 'plus+sign.png', 'ünïcödé/写真 🚗.jpg', 'slash%2Fliteral.jpg', "odd!'()*~.jpg"];

  test.each(KEYS)('PutObject and GetObject of %s verify (checksums WHEN_REQUIRED)', async (key) => {
    await s3().send(new PutObjectCommand({ Bucket: 'uploads', Key: key, Body: Buffer.from('image'), ContentType: 'image/jpeg' }));
    expect(last()).toMatchObject({ ok: true, principal: FN_ROLE });
    expect(bodies[0].toString()).toBe('image');
    await s3().send(new GetObjectCommand({ Bucket: 'uploads', Key: key }));
    expect(last()).toMatchObject({ ok: true, principal: FN_ROLE });
  });

  test('the SDK\'s default checksums (aws-chunked with a trailer) verify by the seed signature', async () => {
    const client = s3({}, 'WHEN_SUPPORTED');
    const sent: Array<Record<string, string>> = [];
    client.middlewareStack.add((next) => async (a) => {
      sent.push({ ...(a.request as { headers: Record<string, string> }).headers });
      return next(a);
    }, { step: 'deserialize', name: 'capture' });
    await client.send(new PutObjectCommand({ Bucket: 'uploads', Key: 'big photo.jpg', Body: Readable.from([Buffer.from('image')]), ContentLength: 5 }));
    expect(sent[0]['x-amz-content-sha256']).toBe('STREAMING-UNSIGNED-PAYLOAD-TRAILER');
    expect(sent[0]['content-encoding']).toContain('aws-chunked');
    expect(last()).toMatchObject({ ok: true, principal: FN_ROLE });
  });

  test.each(KEYS)('a presigned GET of %s verifies; past its expiry it is AccessDenied "Request has expired"', async (key) => {
    const signed = await getSignedUrl(s3(), new GetObjectCommand({ Bucket: 'uploads', Key: key }), { expiresIn: 60 });
    const ok = await fetch(signed);
    expect(ok.status).toBe(200);
    expect(last()).toEqual({ ok: true, principal: FN_ROLE, accessKeyId: fnCreds.accessKeyId, presigned: true });
    serverClockOffset = 61_000;
    const expired = await fetch(signed);
    expect(expired.status).toBe(403);
    const xml = await expired.text();
    expect(xml).toContain('<Code>AccessDenied</Code><Message>Request has expired</Message>');
    expect(xml).toContain('<X-Amz-Expires>60</X-Amz-Expires>');
  });

  test('a presigned PUT verifies; another key, a longer expiry or another method does not', async () => {
    const signed = await getSignedUrl(s3(), new PutObjectCommand({ Bucket: 'uploads', Key: 'up load.jpg', ContentType: 'image/jpeg' }), { expiresIn: 60 });
    expect((await fetch(signed, { method: 'PUT', body: 'image', headers: { 'Content-Type': 'image/jpeg' } })).status).toBe(200);
    expect(last()).toMatchObject({ ok: true, presigned: true });
    const otherKey = await fetch(signed.replace('/up%20load.jpg', '/other.jpg'), { method: 'PUT', body: 'image', headers: { 'Content-Type': 'image/jpeg' } });
    expect(otherKey.status).toBe(403);
    expect(await otherKey.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
    expect((await fetch(signed.replace('X-Amz-Expires=60', 'X-Amz-Expires=600'), { method: 'PUT', body: 'image', headers: { 'Content-Type': 'image/jpeg' } })).status).toBe(403);
    expect((await fetch(signed, { method: 'POST', body: 'image', headers: { 'Content-Type': 'image/jpeg' } })).status).toBe(403);
  });

  test('a browser\'s CORS preflight is anonymous, and the caller answers it', async () => {
    const res = await fetch(`${url}/uploads/a%20b.jpg`, { method: 'OPTIONS', headers: { 'Origin': 'http://localhost:3000', 'Access-Control-Request-Method': 'PUT' } });
    expect(res.status).toBe(200);
    expect(last()).toEqual({ ok: true, anonymous: true });
  });

  test('a header-signed request without x-amz-content-sha256 is InvalidRequest', async () => {
    const err = await fail(withTamper((req) => void delete req.headers['x-amz-content-sha256'], () => CALLS.s3()));
    expect(err?.name).toBe('InvalidRequest');
  });
});

describe('Cognito', () => {
  test('InitiateAuth is unsigned: the verifier reports anonymous and the caller lets it through', async () => {
    mode = { wire: 'cognito-idp', signing: 'cognito-idp' };
    const client = new CognitoIdentityProviderClient({ endpoint: url, region: REGION, maxAttempts: 1 });
    await client.send(new InitiateAuthCommand({ ClientId: 'c', AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: 'u', PASSWORD: 'p' } }));
    expect(last()).toEqual({ ok: true, anonymous: true });
    expect(COGNITO_UNSIGNED_OPERATIONS.has('AdminGetUser')).toBe(false);
  });
});

describe('LocalCredentials', () => {
  test('issues STS-like session credentials, the same for the same principal', () => {
    const local = new LocalCredentials();
    const a = local.issue(FN_ROLE);
    expect(a.accessKeyId).toMatch(/^ASIA[A-Z0-9]{16}$/);
    expect(a.secretAccessKey).toHaveLength(40);
    expect(a.sessionToken).toBeTruthy();
    expect(local.issue({ ...FN_ROLE })).toBe(a);
    expect(local.issue({ ...FN_ROLE, sessionName: 'other' }).accessKeyId).not.toBe(a.accessKeyId);
    expect(local.lookup(a.accessKeyId)).toEqual({ secretAccessKey: a.secretAccessKey, sessionToken: a.sessionToken, principal: FN_ROLE });
    expect(local.lookup('ASIA0000000000000000')).toBeUndefined();
    expect(() => local.issue({ kind: 'anonymous' })).toThrow();
  });

  test('registers fixed long-term keys', () => {
    const local = new LocalCredentials();
    const svc: CallPrincipal = { kind: 'service', service: 'events.amazonaws.com' };
    expect(local.registerLongTerm(svc, { accessKeyId: 'AKIAFIXEDFIXEDFIXED1', secretAccessKey: 's' })).toEqual({ accessKeyId: 'AKIAFIXEDFIXEDFIXED1', secretAccessKey: 's' });
    expect(local.lookup('AKIAFIXEDFIXEDFIXED1')).toEqual({ secretAccessKey: 's', principal: svc });
    expect(() => local.registerLongTerm(svc, { accessKeyId: 'AKIAFIXEDFIXEDFIXED1' })).toThrow(/already registered/);
  });
});
