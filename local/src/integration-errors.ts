/**
 * Error names of service integration tasks, as Step Functions reports them (and so as Retry and Catch match them).
 *
 * AWS SDK integrations (`arn:aws:states:::aws-sdk:<service>:<action>`): `<ServiceName>.<ErrorName>`, both in
 * PascalCase, and the error name always ends in `Exception`, appended when the service's own name lacks it
 * (Step Functions Developer Guide, "AWS SDK service integrations": `AcmPca.ResourceNotFoundException` for
 * `aws-sdk:acmpca`, S3's `BucketAlreadyExists` as `S3.BucketAlreadyExistsException`).
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

/** `Exception` appended unless the name already ends with it (`NoSuchKey` → `NoSuchKeyException`). */
export function withExceptionSuffix(name: string): string {
  return name.endsWith('Exception') ? name : `${name}Exception`;
}

/**
 * The error an AWS SDK integration task reports when the SDK call fails with `sdkErrorName`:
 * `sdkIntegrationErrorName('s3', 'NoSuchKey')` is `S3.NoSuchKeyException`,
 * `sdkIntegrationErrorName('rekognition', 'InternalServerError')` is `Rekognition.InternalServerErrorException`.
 */
export function sdkIntegrationErrorName(arnService: string, sdkErrorName: string): string {
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

/** An error named as the task reports it, with the SDK's message. */
export function integrationError(name: string, cause: unknown): Error {
  return Object.assign(new Error(String((cause as Error | undefined)?.message ?? cause)), { name });
}
