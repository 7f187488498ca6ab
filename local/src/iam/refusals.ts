import { randomBytes, randomUUID } from 'node:crypto';
import type * as http from 'node:http';
import type { SigV4Failure, SigV4FailureCode } from './sigv4';

/**
 * How each service's wire protocol answers a request the kit refuses: (a) authentication failed (no signature where
 * one is required, or {@link verifySigV4} said no), (b) the gate denied the call.
 */

/** A refusal of authentication: a failed signature, or none where one is required. */
export type AuthenticationRefusal = SigV4Failure | { readonly code: 'MissingAuthentication' };

type Reason = SigV4FailureCode | 'MissingAuthentication';

export interface WireError {
  readonly code: string;
  readonly status: number;
}

export type WireProtocol = 'rest-xml' | 'json' | 'rest-json' | 'query';

export interface ServiceWire {
  readonly protocol: WireProtocol;
  /** JSON protocols' content type. */
  readonly contentType?: string;
  /**
   * An `awsQueryCompatible` JSON service (SQS, CloudWatch): it also sends the query protocol's code and status,
   * `x-amzn-query-error: <Code>;Sender`, which the SDK raises as the error's name.
   */
  readonly queryCompatible?: boolean;
  /** The query protocol's `ErrorResponse` namespace (also the query codes of a queryCompatible service). */
  readonly xmlns?: string;
  /** What the service answers a call the policies deny. */
  readonly denial: WireError;
  /** `__type` without the `com.amazon.coral.service#` namespace (Cognito sends the bare name). */
  readonly bareType?: boolean;
}

const JSON_10 = 'application/x-amz-json-1.0';
const JSON_11 = 'application/x-amz-json-1.1';
/** AWS JSON 1.x services answer a denial `AccessDeniedException` with HTTP 400 (e.g. DynamoDB API Reference, "Common Errors"). */
const JSON_DENIAL = { code: 'AccessDeniedException', status: 400 };

/**
 * The wire of each service the kit's peers stand in for (the protocol each SDK client speaks: S3 REST-XML; SNS query;
 * SQS, DynamoDB, Step Functions, CloudWatch AWS JSON 1.0; Firehose, Rekognition, Cognito, EventBridge AWS JSON 1.1;
 * Lambda and SageMaker Runtime REST-JSON), and its denial:
 * - S3: 403 AccessDenied (S3 API Reference, "Error responses", List of error codes).
 * - SNS: 403 AuthorizationError (SNS API Reference, Publish, Errors: "AuthorizationError ... HTTP Status Code: 403").
 * - SQS: 403 AccessDenied (the query code SQS answers a denied queue call with; its API Reference's "Common Errors"
 *   lists the 400 AccessDeniedException of the JSON services, which SQS does not send: unverified beyond that).
 * - Lambda: 403 AccessDeniedException (Lambda API Reference, "Common Errors"). SageMaker Runtime likewise (its
 *   "Common Errors" page, newer revision: 403).
 * - JSON 1.x: 400 AccessDeniedException (DynamoDB / Step Functions / Rekognition API References, "Common Errors").
 */
export const SERVICE_WIRES = {
  's3': { protocol: 'rest-xml', denial: { code: 'AccessDenied', status: 403 } },
  'sns': { protocol: 'query', xmlns: 'http://sns.amazonaws.com/doc/2010-03-31/', denial: { code: 'AuthorizationError', status: 403 } },
  /** SNS over AWS JSON 1.0, should the client switch (the SNS peer accepts both). */
  'sns-json': {
    protocol: 'json',
    contentType: JSON_10,
    queryCompatible: true,
    xmlns: 'http://sns.amazonaws.com/doc/2010-03-31/',
    denial: { code: 'AuthorizationError', status: 403 },
  },
  'sqs': {
    protocol: 'json',
    contentType: JSON_10,
    queryCompatible: true,
    xmlns: 'http://queue.amazonaws.com/doc/2012-11-05/',
    denial: { code: 'AccessDenied', status: 403 },
  },
  /** SQS's legacy query protocol (form-encoded `Action=SendMessage`). */
  'sqs-query': { protocol: 'query', xmlns: 'http://queue.amazonaws.com/doc/2012-11-05/', denial: { code: 'AccessDenied', status: 403 } },
  'dynamodb': { protocol: 'json', contentType: JSON_10, denial: JSON_DENIAL },
  'states': { protocol: 'json', contentType: JSON_10, denial: JSON_DENIAL },
  'monitoring': {
    protocol: 'json',
    contentType: JSON_10,
    queryCompatible: true,
    xmlns: 'http://monitoring.amazonaws.com/doc/2010-08-01/',
    denial: { code: 'AccessDenied', status: 403 },
  },
  'firehose': { protocol: 'json', contentType: JSON_11, denial: JSON_DENIAL },
  'rekognition': { protocol: 'json', contentType: JSON_11, denial: JSON_DENIAL },
  'cognito-idp': { protocol: 'json', contentType: JSON_11, denial: JSON_DENIAL, bareType: true },
  'events': { protocol: 'json', contentType: JSON_11, denial: JSON_DENIAL },
  'lambda': { protocol: 'rest-json', denial: { code: 'AccessDeniedException', status: 403 } },
  'sagemaker-runtime': { protocol: 'rest-json', denial: { code: 'AccessDeniedException', status: 403 } },
} as const satisfies Record<string, ServiceWire>;

export type WireService = keyof typeof SERVICE_WIRES;

/**
 * Cognito user pool operations that take no SigV4 signature (public clients: sign-up, sign-in, and the calls
 * authorized by the user's access token); every other operation (the `Admin*` calls, pool management) is signed and
 * IAM-authorized. From the service model's `smithy.api#optionalAuth` operations, as
 * `@aws-sdk/client-cognito-identity-provider` resolves them to `smithy.api#noAuth`; the API Reference says of each
 * "Amazon Cognito doesn't evaluate IAM policies in requests for this API operation".
 */
export const COGNITO_UNSIGNED_OPERATIONS: ReadonlySet<string> = new Set([
  'AssociateSoftwareToken', 'ChangePassword', 'CompleteWebAuthnRegistration', 'ConfirmDevice', 'ConfirmForgotPassword',
  'ConfirmSignUp', 'DeleteUser', 'DeleteUserAttributes', 'DeleteWebAuthnCredential', 'ForgetDevice', 'ForgotPassword',
  'GetDevice', 'GetTokensFromRefreshToken', 'GetUser', 'GetUserAttributeVerificationCode', 'GetUserAuthFactors',
  'GlobalSignOut', 'InitiateAuth', 'ListDevices', 'ListUserSessions', 'ListWebAuthnCredentials', 'ResendConfirmationCode',
  'RespondToAuthChallenge', 'RevokeToken', 'RevokeUserSession', 'SetUserMFAPreference', 'SetUserSettings', 'SignUp',
  'StartWebAuthnRegistration', 'UpdateAuthEventFeedback', 'UpdateDeviceStatus', 'UpdateUserAttributes',
  'VerifySoftwareToken', 'VerifyUserAttribute',
]);

/**
 * S3 (S3 API Reference, "Error responses", List of error codes): AccessDenied 403 (also "Request has expired" for a
 * presigned URL past its expiry, and an unsigned request to a private resource), InvalidAccessKeyId 403,
 * SignatureDoesNotMatch 403, RequestTimeTooSkewed 403, InvalidToken 400, AuthorizationHeaderMalformed 400,
 * AuthorizationQueryParametersError 400, InvalidRequest 400, XAmzContentSHA256Mismatch 400. An `ASIA` key sent
 * without its token is unknown to S3 (InvalidAccessKeyId).
 */
function s3Error(reason: Reason, form: 'header' | 'query'): WireError {
  switch (reason) {
    case 'MissingAuthentication': return { code: 'AccessDenied', status: 403 };
    case 'IncompleteSignature':
    case 'ScopeMismatch':
      return form === 'query' ? { code: 'AuthorizationQueryParametersError', status: 400 } : { code: 'AuthorizationHeaderMalformed', status: 400 };
    case 'UnknownAccessKey':
    case 'MissingSecurityToken':
      return { code: 'InvalidAccessKeyId', status: 403 };
    case 'InvalidSecurityToken': return { code: 'InvalidToken', status: 400 };
    case 'SignatureMismatch': return { code: 'SignatureDoesNotMatch', status: 403 };
    case 'RequestTimeTooSkewed': return { code: 'RequestTimeTooSkewed', status: 403 };
    case 'ExpiredPresignedUrl': return { code: 'AccessDenied', status: 403 };
    case 'MissingContentSha256': return { code: 'InvalidRequest', status: 400 };
    case 'ContentSha256Mismatch': return { code: 'XAmzContentSHA256Mismatch', status: 400 };
  }
}

/**
 * AWS JSON 1.0/1.1 (the `com.amazon.coral.service` errors every JSON service shares): MissingAuthenticationTokenException,
 * IncompleteSignatureException, UnrecognizedClientException ("The security token included in the request is invalid."),
 * InvalidSignatureException (also "Signature expired: ..." for a skewed clock), all HTTP 400 (DynamoDB Developer
 * Guide, "Error handling with DynamoDB", and the AWS SDK reports of these errors with `statusCode: 400`). REST-JSON
 * services (Lambda, SageMaker Runtime) send the same codes with HTTP 403 (Lambda API Reference, "Common Errors":
 * IncompleteSignature 403; Lambda answers UnrecognizedClientException with 403).
 */
function jsonError(reason: Reason, status: number): WireError {
  switch (reason) {
    case 'MissingAuthentication': return { code: 'MissingAuthenticationTokenException', status };
    case 'IncompleteSignature': return { code: 'IncompleteSignatureException', status };
    case 'UnknownAccessKey':
    case 'MissingSecurityToken':
    case 'InvalidSecurityToken':
      return { code: 'UnrecognizedClientException', status };
    default: return { code: 'InvalidSignatureException', status };
  }
}

/**
 * The query protocol (SNS, SQS, CloudWatch; "Common Errors" of their API References): MissingAuthenticationToken 403,
 * IncompleteSignature 400, InvalidClientTokenId 403, SignatureDoesNotMatch 403 (also "Signature expired: ..." for a
 * skewed clock, as STS and SNS answer).
 */
function queryError(reason: Reason): WireError {
  switch (reason) {
    case 'MissingAuthentication': return { code: 'MissingAuthenticationToken', status: 403 };
    case 'IncompleteSignature': return { code: 'IncompleteSignature', status: 400 };
    case 'UnknownAccessKey':
    case 'MissingSecurityToken':
    case 'InvalidSecurityToken':
      return { code: 'InvalidClientTokenId', status: 403 };
    default: return { code: 'SignatureDoesNotMatch', status: 403 };
  }
}

export interface RefusalOptions {
  /** The request's method: a HEAD answer has no body. */
  readonly method?: string;
  /** Headers to add (e.g. CORS headers a browser needs to read the error). */
  readonly headers?: Readonly<Record<string, string>>;
  /** @default a random id */
  readonly requestId?: string;
  /** The code and status of a denial, when not the service's usual one (e.g. SNS's `KMSAccessDenied`). */
  readonly denial?: WireError;
}

/** Answers an authentication failure as the service does. */
export function refuseAuthentication(
  res: http.ServerResponse, service: WireService, refusal: AuthenticationRefusal, options: RefusalOptions = {},
): void {
  const wire: ServiceWire = SERVICE_WIRES[service];
  const form = refusal.code === 'MissingAuthentication' ? 'header' : refusal.form;
  const message = refusal.code !== 'MissingAuthentication' ? refusal.message
    : wire.protocol === 'rest-xml' ? 'Access Denied'
      : wire.protocol === 'rest-json' ? 'Missing Authentication Token' : 'Request is missing Authentication Token';
  const details = refusal.code === 'MissingAuthentication' ? undefined : refusal.details;
  switch (wire.protocol) {
    case 'rest-xml':
      return sendS3(res, s3Error(refusal.code, form), message, s3Details(refusal.code, details), options);
    case 'query':
      return sendQuery(res, wire, queryError(refusal.code), message, options);
    case 'rest-json':
      return sendJson(res, wire, jsonError(refusal.code, 403), undefined, message, options);
    case 'json':
      return sendJson(res, wire, jsonError(refusal.code, 400), wire.queryCompatible ? queryError(refusal.code) : undefined, message, options);
  }
}

/** Answers a call the policies deny (`message` as AWS words it: `User: arn:... is not authorized to perform: ...`). */
export function refuseAuthorization(res: http.ServerResponse, service: WireService, message: string, options: RefusalOptions = {}): void {
  const wire: ServiceWire = SERVICE_WIRES[service];
  const denial = options.denial ?? wire.denial;
  switch (wire.protocol) {
    case 'rest-xml': return sendS3(res, denial, message, undefined, options);
    case 'query': return sendQuery(res, wire, denial, message, options);
    case 'rest-json': return sendJson(res, wire, denial, undefined, message, options);
    case 'json':
      return sendJson(res, wire, options.denial ?? JSON_DENIAL, wire.queryCompatible ? denial : undefined, message, options);
  }
}

/** The elements S3 adds for each error (e.g. `StringToSign` and `CanonicalRequest` with SignatureDoesNotMatch). */
function s3Details(reason: Reason, details: Readonly<Record<string, string>> | undefined): Readonly<Record<string, string>> | undefined {
  if (!details) return undefined;
  const keep: Partial<Record<Reason, readonly string[]>> = {
    SignatureMismatch: ['AWSAccessKeyId', 'StringToSign', 'SignatureProvided', 'CanonicalRequest'],
    UnknownAccessKey: ['AWSAccessKeyId'],
    MissingSecurityToken: ['AWSAccessKeyId'],
    RequestTimeTooSkewed: ['RequestTime', 'ServerTime', 'MaxAllowedSkewMilliseconds'],
    ExpiredPresignedUrl: ['X-Amz-Expires', 'Expires', 'ServerTime'],
    ScopeMismatch: ['Region'],
    ContentSha256Mismatch: ['ClientComputedContentSHA256', 'S3ComputedContentSHA256'],
  };
  return Object.fromEntries((keep[reason] ?? []).filter((k) => details[k] !== undefined).map((k) => [k, details[k]]));
}

function sendS3(
  res: http.ServerResponse, e: WireError, message: string, details: Readonly<Record<string, string>> | undefined, o: RefusalOptions,
): void {
  const requestId = o.requestId ?? randomBytes(8).toString('hex').toUpperCase();
  const hostId = randomBytes(32).toString('base64');
  const extra = Object.entries(details ?? {}).map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`).join('');
  const body = '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${e.code}</Code><Message>${escapeXml(message)}</Message>${extra}<RequestId>${requestId}</RequestId><HostId>${hostId}</HostId></Error>`;
  const head = o.method?.toUpperCase() === 'HEAD';
  res.writeHead(e.status, {
    ...o.headers,
    'Content-Type': 'application/xml',
    'Content-Length': head ? 0 : Buffer.byteLength(body),
    'x-amz-request-id': requestId,
    'x-amz-id-2': hostId,
  });
  res.end(head ? undefined : body);
}

function sendQuery(res: http.ServerResponse, wire: ServiceWire, e: WireError, message: string, o: RefusalOptions): void {
  const requestId = o.requestId ?? randomUUID();
  const body = `<ErrorResponse xmlns="${wire.xmlns}"><Error><Type>Sender</Type><Code>${e.code}</Code>` +
    `<Message>${escapeXml(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
  res.writeHead(e.status, { ...o.headers, 'Content-Type': 'text/xml', 'Content-Length': Buffer.byteLength(body), 'x-amzn-RequestId': requestId });
  res.end(body);
}

/**
 * A JSON error. RPC services name it in `__type`; REST-JSON ones in `x-amzn-ErrorType` (`Code:<namespace>`, which the
 * SDK reads up to the colon); a queryCompatible service adds the query code and takes the query status.
 */
function sendJson(res: http.ServerResponse, wire: ServiceWire, e: WireError, query: WireError | undefined, message: string, o: RefusalOptions): void {
  const requestId = o.requestId ?? randomUUID();
  const type = wire.bareType ? e.code : `com.amazon.coral.service#${e.code}`;
  const body = JSON.stringify({ __type: type, message });
  res.writeHead(query?.status ?? e.status, {
    ...o.headers,
    'Content-Type': wire.contentType ?? 'application/json',
    'Content-Length': Buffer.byteLength(body),
    'x-amzn-RequestId': requestId,
    ...(wire.protocol === 'rest-json' && { 'x-amzn-ErrorType': `${e.code}:http://internal.amazon.com/coral/com.amazon.coral.service/` }),
    ...(query && { 'x-amzn-query-error': `${query.code};Sender` }),
  });
  res.end(body);
}

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}
