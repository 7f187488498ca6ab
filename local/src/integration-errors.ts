import * as DynamoDB from '@aws-sdk/client-dynamodb';
import * as Firehose from '@aws-sdk/client-firehose';
import * as Rekognition from '@aws-sdk/client-rekognition';
import * as S3 from '@aws-sdk/client-s3';

/**
 * Error names of service integration tasks, as Step Functions reports them (and so as Retry and Catch match them).
 *
 * AWS SDK integrations (`arn:aws:states:::aws-sdk:<service>:<action>`): `<ServiceName>.<ErrorName>`, both in
 * PascalCase, and the error name always ends in `Exception`, appended when the service's own name lacks it
 * (Step Functions Developer Guide, "AWS SDK service integrations": `AcmPca.ResourceNotFoundException` for
 * `aws-sdk:acmpca`, S3's `BucketAlreadyExists` as `S3.BucketAlreadyExistsException`). The error name is the SDK
 * exception class the error was read into: an error code the service's SDK model does not define is read into the
 * SDK's base class, `<ServiceName>.<ServiceName>Exception`. Executions recorded against AWS (LocalStack
 * `tests/aws/services/stepfunctions/v2/error_handling/test_aws_sdk.snapshot.json`): `aws-sdk:dynamodb:putItem` with
 * a null Item fails `DynamoDb.DynamoDbException` (DynamoDB's `ValidationException` is not in its model),
 * `aws-sdk:secretsmanager:createSecret` with an invalid name `SecretsManager.SecretsManagerException`, while modelled
 * codes keep their names (`S3.NoSuchKeyException` from getObject, `S3.NoSuchBucketException` from listObjects,
 * `DynamoDb.ResourceNotFoundException`). So S3's `SlowDown`, `InternalError` and `ServiceUnavailable`, which no S3
 * operation models, arrive as `S3.S3Exception`, their HTTP status only in the cause
 * (`... (Service: S3, Status Code: 404, Request ID: ...)`, as recorded).
 *
 * Optimized integrations name errors with their own fixed prefix (`Lambda.`, `SNS.`) and SDK exception class names,
 * which end in `Exception` too (e.g. `Lambda.TooManyRequestsException`, `SNS.ThrottledException`).
 */

/**
 * Services whose PascalCase name is not the ARN's service name with its first letter capitalised. Only spellings
 * that are documented or observed on AWS: `AcmPca` (the guide's example), `DynamoDb` and `Sfn` (errors such as
 * `DynamoDb.ConditionalCheckFailedException` from `aws-sdk:dynamodb`, distinct from the optimized `DynamoDB.`).
 */
const SDK_SERVICE_NAMES: Record<string, string> = {
  acmpca: 'AcmPca',
  dynamodb: 'DynamoDb',
  sfn: 'Sfn',
};

/** The service part of an AWS SDK integration's error names, from the service name in its ARN (`s3` → `S3`). */
export function sdkIntegrationServiceName(arnService: string): string {
  const service = arnService.toLowerCase();
  return SDK_SERVICE_NAMES[service] ?? `${service.charAt(0).toUpperCase()}${service.slice(1)}`;
}

/**
 * The error codes each service's SDK model defines, from the installed AWS SDK for JavaScript clients (generated
 * from the same Smithy models as the Java SDK Step Functions reports with). A service's modelled errors are those of
 * its whole model, not only the operation's: the Java SDK v2 registers every modelled exception with the client of an
 * XML service such as S3 (its code generator's `registerModeledException` calls in `init()`, aws/aws-sdk-java-v2
 * `codegen/src/test/resources/.../test-xml-async-client-class.java`). Services not listed here keep every code.
 */
const MODELLED_ERRORS: Record<string, ReadonlySet<string>> = {
  s3: modelledErrors(S3, S3.S3ServiceException),
  dynamodb: modelledErrors(DynamoDB, DynamoDB.DynamoDBServiceException),
  firehose: modelledErrors(Firehose, Firehose.FirehoseServiceException),
  rekognition: modelledErrors(Rekognition, Rekognition.RekognitionServiceException),
};

/** The names of a client package's exception classes: the modelled error codes (`NoSuchKey`, `InternalServerError`). */
function modelledErrors(client: Record<string, unknown>, base: abstract new (...args: any[]) => Error): ReadonlySet<string> {
  return new Set(Object.entries(client)
    .filter(([, v]) => typeof v === 'function' && v.prototype instanceof base)
    .map(([name]) => name));
}

/** The error codes the service's SDK model defines (`s3` → `NoSuchKey`, `NoSuchBucket`, ...); undefined for a service not known here. */
export function sdkModelledErrors(arnService: string): ReadonlySet<string> | undefined {
  return MODELLED_ERRORS[arnService.toLowerCase()];
}

/** The SDK's base exception class as an error name: `S3.S3Exception`, `DynamoDb.DynamoDbException`. */
export function sdkBaseExceptionName(arnService: string): string {
  const service = sdkIntegrationServiceName(arnService);
  return `${service}.${service}Exception`;
}

/**
 * Every error an AWS SDK integration of a known service can report: its modelled errors, its base exception and
 * `SdkClientException`; undefined for a service not known here.
 */
export function sdkIntegrationErrorNames(arnService: string): string[] | undefined {
  const modelled = sdkModelledErrors(arnService);
  if (!modelled) return undefined;
  const service = sdkIntegrationServiceName(arnService);
  return [...[...modelled].map((code) => `${service}.${withExceptionSuffix(code)}`), sdkBaseExceptionName(arnService), `${service}.SdkClientException`];
}

/** `Exception` appended unless the name already ends with it (`NoSuchKey` → `NoSuchKeyException`). */
export function withExceptionSuffix(name: string): string {
  return name.endsWith('Exception') ? name : `${name}Exception`;
}

/**
 * The error an AWS SDK integration task reports when the SDK call fails with `sdkErrorName`:
 * `sdkIntegrationErrorName('s3', 'NoSuchKey')` is `S3.NoSuchKeyException`,
 * `sdkIntegrationErrorName('rekognition', 'InternalServerError')` is `Rekognition.InternalServerErrorException`,
 * and a code the model does not define is the base exception: `sdkIntegrationErrorName('s3', 'SlowDown')` is `S3.S3Exception`.
 */
export function sdkIntegrationErrorName(arnService: string, sdkErrorName: string): string {
  const modelled = sdkModelledErrors(arnService);
  if (sdkErrorName !== 'SdkClientException' && modelled && !modelled.has(sdkErrorName)) return sdkBaseExceptionName(arnService);
  return `${sdkIntegrationServiceName(arnService)}.${withExceptionSuffix(sdkErrorName)}`;
}

/** The error an optimized integration task reports, e.g. `optimizedIntegrationErrorName('SNS', 'Throttled')` → `SNS.ThrottledException`. */
export function optimizedIntegrationErrorName(prefix: string, sdkErrorName: string): string {
  return `${prefix}.${withExceptionSuffix(sdkErrorName)}`;
}

/**
 * The SDK error name of an error from an AWS SDK for JavaScript v3 client: the service's error code for an answer
 * from the service (`NoSuchKey`, `SlowDown`, `ThrottlingException`); `SdkClientException` when no answer came
 * (connection refused, timeout), as Step Functions reports a failure on the client side.
 */
export function sdkErrorNameOf(error: unknown): string {
  const e = error as { name?: unknown; $fault?: unknown; $metadata?: { httpStatusCode?: unknown } } | undefined;
  const answered = typeof e?.$fault === 'string' || typeof e?.$metadata?.httpStatusCode === 'number';
  return answered && typeof e?.name === 'string' && e.name !== '' ? e.name : 'SdkClientException';
}

/**
 * An error named as the task reports it. An answer from the service gets the cause Step Functions gives it (recorded
 * against AWS, LocalStack `test_aws_sdk.snapshot.json`): the SDK's message, then `(Service: <ServiceName>, Status
 * Code: <HTTP status>, Request ID: <id>)`, so a base-exception error can still be told apart by its status.
 */
export function integrationError(name: string, cause: unknown, serviceName?: string): Error {
  const e = cause as { message?: unknown; $metadata?: { httpStatusCode?: unknown; requestId?: unknown } } | undefined;
  const message = String(e?.message ?? cause);
  const status = e?.$metadata?.httpStatusCode;
  const detail = serviceName && typeof status === 'number'
    ? ` (Service: ${serviceName}, Status Code: ${status}, Request ID: ${String(e?.$metadata?.requestId ?? '')})` : '';
  return Object.assign(new Error(`${message}${detail}`), { name });
}

/**
 * The bytes `aws-sdk:s3:putObject` stores for its `Body` parameter: the parameter JSON-serialized. A string keeps its
 * quotes and escapes (recorded against AWS: LocalStack
 * `tests/aws/services/stepfunctions/v2/services/test_aws_sdk_task_service.snapshot.json`, `test_s3_put_object[str]`:
 * `"text data"` reads back as the 11 characters `"text data"`); an object is stored as compact JSON.
 */
export function s3BodyParameterText(body: unknown): string {
  return JSON.stringify(body ?? null);
}

/**
 * The bytes of another blob parameter (Firehose `Record.Data`): a string as its UTF-8 bytes, anything else as compact
 * JSON. No recording of such a field is known; an object is compact JSON under either reading, so the library passes
 * objects (DESIGN.md, "AWS behaviour checked against AWS documentation").
 */
export function blobParameterText(data: unknown): string {
  return typeof data === 'string' ? data : JSON.stringify(data ?? null);
}
