import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type * as http from 'node:http';
import type { CredentialRecord } from './credentials';
import type { CallPrincipal } from './model';

/**
 * Signature Version 4 as AWS checks it on a request it receives: the `Authorization` header form and the presigned
 * (query-string) form. Sources: IAM User Guide, "Create a signed AWS API request" and "Elements of an AWS API
 * request signature"; S3 API Reference, "Authenticating Requests (AWS Signature Version 4)", "Signature Calculations
 * for the Authorization Header: Transferring Payload in a Single Chunk", "Transferring Payload in Multiple Chunks"
 * and "Authenticating Requests: Using Query Parameters".
 */

/** The parts of an `http.IncomingMessage` a signature covers (the body comes in {@link VerifyOptions.body}). */
export interface SignedRequestLike {
  readonly method?: string;
  /** The path and query exactly as received (`req.url`), never decoded or re-encoded. */
  readonly url?: string;
  readonly headers: http.IncomingHttpHeaders;
  /** Header names and values as received, which keep repeated headers apart; preferred over `headers`. */
  readonly rawHeaders?: readonly string[];
}

/** Where the verifier finds an access key's secret, token and principal ({@link LocalCredentials}). */
export interface CredentialLookup {
  lookup(accessKeyId: string): CredentialRecord | undefined;
}

export interface VerifyOptions {
  /**
   * The signing name the credential scope must name: `s3`, `dynamodb`, `sqs`, `sns`, `states`, `firehose`,
   * `rekognition`, `monitoring`, `cognito-idp`, `events`, `lambda`, `sagemaker` (SageMaker Runtime signs as
   * `sagemaker`). `s3` also selects S3's rules: the path is not encoded again, the payload hash is the
   * `x-amz-content-sha256` header (required), and S3's wording of errors.
   */
  readonly service: string;
  /** The region(s) the scope may name. @default any */
  readonly region?: string | readonly string[];
  /**
   * The body, when already read: its SHA-256 is the payload hash of services other than S3 (without it, the
   * `x-amz-content-sha256` header, else the hash of an empty body), and for S3 it is checked against a hexadecimal
   * `x-amz-content-sha256`.
   */
  readonly body?: Buffer;
  /** The service's clock (the kit's scaled clock), in epoch ms. @default Date.now */
  readonly now?: () => number;
}

/** Why a signed request was refused; refusals.ts turns each into the error a service's protocol answers. */
export type SigV4FailureCode =
  /** A part of the signature is missing or malformed (no `Credential=`, no date, a bad scope or expiry). */
  | 'IncompleteSignature'
  /** No such access key. */
  | 'UnknownAccessKey'
  /** The signature does not match, or the scope's date is not the request's. */
  | 'SignatureMismatch'
  /** The request's time is more than 15 minutes from the service's. */
  | 'RequestTimeTooSkewed'
  /** A presigned URL past `X-Amz-Date` + `X-Amz-Expires`. */
  | 'ExpiredPresignedUrl'
  /** A temporary (`ASIA`) key without its session token. */
  | 'MissingSecurityToken'
  /** A session token that is not the key's (or one sent with a long-term key). */
  | 'InvalidSecurityToken'
  /** The scope names another region or service. */
  | 'ScopeMismatch'
  /** S3: a header-signed request without `x-amz-content-sha256`. */
  | 'MissingContentSha256'
  /** S3: the body's SHA-256 is not the signed `x-amz-content-sha256`. */
  | 'ContentSha256Mismatch';

export type SigV4Result =
  | { readonly ok: true; readonly anonymous?: false; readonly principal: CallPrincipal; readonly accessKeyId: string; readonly presigned: boolean }
  /** No authentication at all (an unsigned request, a CORS preflight): the caller decides. */
  | { readonly ok: true; readonly anonymous: true }
  | SigV4Failure;

export interface SigV4Failure {
  readonly ok: false;
  readonly code: SigV4FailureCode;
  /** The message the service sends (S3's wording when `service` is `s3`). */
  readonly message: string;
  /** Which form the request used: S3 names its errors after it (`AuthorizationHeaderMalformed`, `AuthorizationQueryParametersError`). */
  readonly form: 'header' | 'query';
  /** Extra elements S3 adds to the error (`StringToSign`, `CanonicalRequest`, `Expires`, `ServerTime`...). */
  readonly details?: Readonly<Record<string, string>>;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
/** Greatest difference between a request's time and the service's (IAM User Guide, "Elements of an AWS API request signature": 15 minutes). */
export const MAX_SKEW_MS = 15 * 60_000;
/** Longest presigned URL validity (S3 API Reference, "Authenticating Requests: Using Query Parameters": 7 days). */
const MAX_EXPIRES_S = 604_800;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Checks a request's SigV4 signature and maps its access key to the principal, as the service named in `options`
 * would. The payload hash is `x-amz-content-sha256` when sent (S3 always sends it): a hex digest, `UNSIGNED-PAYLOAD`,
 * or a streaming value (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`, `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`); for
 * the signed streaming forms only the seed signature (the headers') is verified, not each chunk's signature.
 */
export function verifySigV4(request: SignedRequestLike, credentials: CredentialLookup, options: VerifyOptions): SigV4Result {
  const s3 = options.service === 's3';
  const rawUrl = request.url ?? '/';
  const q = rawUrl.indexOf('?');
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const query = parseQuery(q < 0 ? '' : rawUrl.slice(q + 1));
  const param = (name: string) => query.find(([k]) => k === name)?.[1];
  const headers = headerValues(request);
  const authorization = headers.get('authorization');

  let form: 'header' | 'query';
  let parts: { credential?: string; signedHeaders?: string; signature?: string };
  if (authorization !== undefined) {
    form = 'header';
    if (!authorization.startsWith(`${ALGORITHM} `)) {
      return fail('IncompleteSignature', form, s3
        ? 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.'
        : `Authorization header requires '${ALGORITHM}' as its algorithm.`);
    }
    const fields = new Map(authorization.slice(ALGORITHM.length).split(',').map((f) => {
      const [k, ...v] = f.trim().split('=');
      return [k, v.join('=')] as const;
    }));
    parts = { credential: fields.get('Credential'), signedHeaders: fields.get('SignedHeaders'), signature: fields.get('Signature') };
    const missing = (['Credential', 'SignedHeaders', 'Signature'] as const).filter((k) => !fields.get(k));
    if (missing.length > 0) {
      return fail('IncompleteSignature', form, s3
        ? `The authorization header is malformed; the authorization header requires the ${missing.join(', ')} component${missing.length > 1 ? 's' : ''}.`
        : missing.map((k) => `Authorization header requires '${k}' parameter.`).join(' '));
    }
  } else if (param('X-Amz-Algorithm') !== undefined || param('X-Amz-Signature') !== undefined || param('X-Amz-Credential') !== undefined) {
    form = 'query';
    parts = { credential: param('X-Amz-Credential'), signedHeaders: param('X-Amz-SignedHeaders'), signature: param('X-Amz-Signature') };
    const required = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders', ...(s3 ? ['X-Amz-Expires'] : [])];
    if (required.some((k) => !param(k))) {
      return fail('IncompleteSignature', form,
        'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.');
    }
    if (param('X-Amz-Algorithm') !== ALGORITHM) {
      return fail('IncompleteSignature', form, `X-Amz-Algorithm only supports "${ALGORITHM}"`);
    }
  } else {
    return { ok: true, anonymous: true };
  }

  const date = form === 'header' ? headers.get('x-amz-date') ?? headers.get('date') : param('X-Amz-Date');
  if (date === undefined) {
    return fail('IncompleteSignature', form, s3
      ? 'AWS authentication requires a valid Date or x-amz-date header'
      : "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  }
  const at = parseAmzDate(date);
  if (at === undefined) {
    return fail('IncompleteSignature', form, `Date must be in ISO-8601 'basic format'. Got '${date}'. See http://en.wikipedia.org/wiki/ISO_8601`);
  }

  const scope = parts.credential!.split('/');
  if (scope.length !== 5 || scope[4] !== 'aws4_request' || scope.some((p) => p === '')) {
    return fail('IncompleteSignature', form, s3
      ? 'Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
      : `Credential should be scoped to a valid region, service and terminator 'aws4_request' ('${parts.credential}').`);
  }
  const [accessKeyId, scopeDate, region, service] = scope;
  const regions = options.region === undefined ? undefined : typeof options.region === 'string' ? [options.region] : options.region;
  if (regions && !regions.includes(region)) {
    return fail('ScopeMismatch', form, s3
      ? `The authorization header is malformed; the region '${region}' is wrong; expecting '${regions[0]}'`
      : 'Credential should be scoped to a valid region.', { Region: regions[0] });
  }
  if (service !== options.service) {
    return fail('ScopeMismatch', form, s3
      ? `The authorization header is malformed; incorrect service '${service}'. This endpoint belongs to '${options.service}'.`
      : `Credential should be scoped to correct service: '${options.service}'.`);
  }
  if (scopeDate !== date.slice(0, 8)) {
    return fail('SignatureMismatch', form,
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${date.slice(0, 8)}', from '${date}'.`);
  }

  const record = credentials.lookup(accessKeyId);
  const unknownKey = s3 ? 'The AWS Access Key Id you provided does not exist in our records.' : 'The security token included in the request is invalid.';
  if (!record) return fail('UnknownAccessKey', form, unknownKey, { AWSAccessKeyId: accessKeyId });
  const token = form === 'header' ? headers.get('x-amz-security-token') : param('X-Amz-Security-Token');
  if (record.sessionToken !== undefined && token === undefined) {
    // A temporary key is known only with its token: S3 answers as for an unknown key.
    return fail('MissingSecurityToken', form, unknownKey, { AWSAccessKeyId: accessKeyId });
  }
  if (token !== undefined && (record.sessionToken === undefined || !safeEqual(token, record.sessionToken))) {
    return fail('InvalidSecurityToken', form, s3 ? 'The provided token is malformed or otherwise invalid.' : 'The security token included in the request is invalid.');
  }

  const now = (options.now ?? Date.now)();
  if (form === 'query') {
    const expiresParam = param('X-Amz-Expires');
    if (expiresParam !== undefined) {
      const expires = Number(expiresParam);
      if (!/^\d+$/.test(expiresParam)) return fail('IncompleteSignature', form, 'X-Amz-Expires should be a number');
      if (expires > MAX_EXPIRES_S) {
        return fail('IncompleteSignature', form, `X-Amz-Expires must be less than a week (in seconds) that is ${MAX_EXPIRES_S}`);
      }
      if (now > at + expires * 1000) {
        return fail('ExpiredPresignedUrl', form, s3 ? 'Request has expired' : signatureExpired(date, now, expires * 1000), {
          'X-Amz-Expires': expiresParam, 'Expires': isoSeconds(at + expires * 1000), 'ServerTime': isoSeconds(now),
        });
      }
    }
  } else if (Math.abs(now - at) > MAX_SKEW_MS) {
    return fail('RequestTimeTooSkewed', form, s3
      ? 'The difference between the request time and the current time is too large.'
      : at < now ? signatureExpired(date, now, MAX_SKEW_MS) : signatureNotYetCurrent(date, now),
    { RequestTime: date, ServerTime: isoSeconds(now), MaxAllowedSkewMilliseconds: String(MAX_SKEW_MS) });
  }

  const sentHash = form === 'header' ? headers.get('x-amz-content-sha256') : headers.get('x-amz-content-sha256') ?? param('X-Amz-Content-Sha256');
  if (s3 && form === 'header' && sentHash === undefined) {
    return fail('MissingContentSha256', form, 'Missing required header for this request: x-amz-content-sha256');
  }
  // S3 signs the hash it is sent (a presigned URL's payload is unknown unless sent); other services sign the body's
  // hash, whatever header accompanies it (the SDK sends x-amz-content-sha256 to every service).
  const payloadHash = s3 ? sentHash ?? 'UNSIGNED-PAYLOAD' : options.body ? sha256Hex(options.body) : sentHash ?? sha256Hex('');

  const signedHeaders = parts.signedHeaders!.split(';');
  const canonicalRequest = [
    (request.method ?? 'GET').toUpperCase(),
    s3 ? rawPath || '/' : canonicalPath(rawPath),
    canonicalQuery(form === 'query' ? query.filter(([k]) => k !== 'X-Amz-Signature') : query),
    ...signedHeaders.map((h) => `${h}:${headers.get(h) ?? ''}`),
    '',
    parts.signedHeaders!,
    payloadHash,
  ].join('\n');
  const stringToSign = [ALGORITHM, date, scope.slice(1).join('/'), sha256Hex(canonicalRequest)].join('\n');
  const key = signingKey(record.secretAccessKey, scopeDate, region, service);
  const expected = hmac(key, stringToSign).toString('hex');
  if (!safeEqual(parts.signature!, expected)) {
    return fail('SignatureMismatch', form, s3
      ? 'The request signature we calculated does not match the signature you provided. Check your key and signing method.'
      : 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. ' +
        `Consult the service documentation for details.\n\nThe Canonical String for this request should have been\n'${canonicalRequest}'\n\n` +
        `The String-to-Sign should have been\n'${stringToSign}'\n`,
    { AWSAccessKeyId: accessKeyId, StringToSign: stringToSign, SignatureProvided: parts.signature!, CanonicalRequest: canonicalRequest });
  }

  if (s3 && options.body !== undefined && sentHash !== undefined && SHA256_HEX.test(sentHash)) {
    const computed = sha256Hex(options.body);
    if (computed !== sentHash) {
      return fail('ContentSha256Mismatch', form, "The provided 'x-amz-content-sha256' header does not match what was computed.", {
        ClientComputedContentSHA256: sentHash, S3ComputedContentSHA256: computed,
      });
    }
  }
  return { ok: true, principal: record.principal, accessKeyId, presigned: form === 'query' };
}

function fail(code: SigV4FailureCode, form: 'header' | 'query', message: string, details?: Record<string, string>): SigV4Failure {
  return { ok: false, code, message, form, ...(details && { details }) };
}

/** `Signature expired: 20130524T000000Z is now earlier than 20130524T000500Z (20130524T002000Z - 15 min.)`, as DynamoDB and STS say. */
function signatureExpired(date: string, now: number, windowMs: number): string {
  return `Signature expired: ${date} is now earlier than ${amzDate(now - windowMs)} (${amzDate(now)} - ${+(windowMs / 60_000).toFixed(2)} min.)`;
}

function signatureNotYetCurrent(date: string, now: number): string {
  return `Signature not yet current: ${date} is still later than ${amzDate(now + MAX_SKEW_MS)} (${amzDate(now)} + ${MAX_SKEW_MS / 60_000} min.)`;
}

function amzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `20130524T000000Z` to epoch ms. */
function parseAmzDate(v: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(v);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number);
  const t = Date.UTC(y, mo - 1, d, h, mi, s);
  return Number.isFinite(t) ? t : undefined;
}

/**
 * Header values as the canonical request takes them: by lower-case name, each value trimmed with inner whitespace
 * collapsed, repeated headers joined by commas.
 */
function headerValues(request: SignedRequestLike): Map<string, string> {
  const values = new Map<string, string[]>();
  const add = (name: string, value: string) => {
    const key = name.toLowerCase();
    const list = values.get(key) ?? [];
    list.push(value.trim().replace(/\s+/g, ' '));
    values.set(key, list);
  };
  if (request.rawHeaders) {
    for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) add(request.rawHeaders[i], request.rawHeaders[i + 1]);
  } else {
    for (const [name, v] of Object.entries(request.headers)) {
      if (v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) add(name, String(one));
    }
  }
  return new Map([...values].map(([k, v]) => [k, v.join(',')]));
}

/** A query's parameters, decoded (`+` is a plus sign, not a space: SigV4 encodes spaces as `%20`). */
function parseQuery(raw: string): Array<[string, string]> {
  return raw.split('&').filter((p) => p !== '').map((p) => {
    const eq = p.indexOf('=');
    return eq < 0 ? [decode(p), ''] : [decode(p.slice(0, eq)), decode(p.slice(eq + 1))];
  });
}

function decode(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

/** Parameters URI-encoded (RFC 3986 unreserved characters only) and sorted by name, then value. */
function canonicalQuery(params: Array<[string, string]>): string {
  return params.map(([k, v]) => [uriEncode(k), uriEncode(v)])
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`).join('&');
}

/**
 * Services other than S3: the path normalized (empty, `.` and `..` segments resolved) and each segment encoded
 * once more, so a segment sent as `a%20b` is signed as `a%2520b` (IAM User Guide, "Create a canonical request":
 * "Each path segment must be URI-encoded twice ... except for Amazon S3").
 */
function canonicalPath(raw: string): string {
  const segments: string[] = [];
  for (const s of raw.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') segments.pop();
    else segments.push(uriEncode(s));
  }
  const trailing = segments.length > 0 && raw.endsWith('/') ? '/' : '';
  return `/${segments.join('/')}${trailing}`;
}

function uriEncode(v: string): string {
  return encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Derived signing keys, by secret, date, region and service: the same four HMACs on every request otherwise. */
const signingKeys = new Map<string, Buffer>();

function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const id = `${secret}\n${date}\n${region}\n${service}`;
  let key = signingKeys.get(id);
  if (!key) {
    key = [date, region, service, 'aws4_request'].reduce<Buffer>((k, part) => hmac(k, part), Buffer.from(`AWS4${secret}`, 'utf8'));
    if (signingKeys.size >= 10_000) signingKeys.clear();
    signingKeys.set(id, key);
  }
  return key;
}

function hmac(key: Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
