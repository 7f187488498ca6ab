import { NoSuchKey, S3ServiceException } from '@aws-sdk/client-s3';
import {
  integrationError, optimizedIntegrationErrorName, sdkErrorNameOf, sdkIntegrationErrorName, sdkIntegrationServiceName,
} from '../src/integration-errors';

describe('AWS SDK integration error names, as Step Functions reports them', () => {
  test.each([
    // The Step Functions guide's own examples ("AWS SDK service integrations").
    ['acmpca', 'ResourceNotFoundException', 'AcmPca.ResourceNotFoundException'],
    ['s3', 'BucketAlreadyExists', 'S3.BucketAlreadyExistsException'],
    // S3 codes without the suffix get it; DESIGN.md's checked examples.
    ['s3', 'NoSuchKey', 'S3.NoSuchKeyException'],
    ['s3', 'SlowDown', 'S3.SlowDownException'],
    ['s3', 'AccessDenied', 'S3.AccessDeniedException'],
    ['s3', 'NoSuchBucket', 'S3.NoSuchBucketException'],
    // Names that already end in Exception are kept.
    ['rekognition', 'InvalidS3ObjectException', 'Rekognition.InvalidS3ObjectException'],
    ['rekognition', 'InternalServerError', 'Rekognition.InternalServerErrorException'],
    ['s3', 'SdkClientException', 'S3.SdkClientException'],
    ['dynamodb', 'ConditionalCheckFailedException', 'DynamoDb.ConditionalCheckFailedException'],
  ])('aws-sdk:%s error %s is %s', (service, sdkName, expected) => {
    expect(sdkIntegrationErrorName(service, sdkName)).toBe(expected);
  });

  test('the service part is the ARN service name in PascalCase', () => {
    expect(sdkIntegrationServiceName('s3')).toBe('S3');
    expect(sdkIntegrationServiceName('rekognition')).toBe('Rekognition');
    expect(sdkIntegrationServiceName('sfn')).toBe('Sfn');
    expect(sdkIntegrationServiceName('acmpca')).toBe('AcmPca');
  });

  test('optimized integrations keep their own prefix, with the same suffix rule', () => {
    expect(optimizedIntegrationErrorName('SNS', 'ThrottledException')).toBe('SNS.ThrottledException');
    expect(optimizedIntegrationErrorName('SNS', 'InternalError')).toBe('SNS.InternalErrorException');
  });
});

describe('the SDK error name of a JavaScript SDK error', () => {
  test('an answer from the service: its error code', () => {
    expect(sdkErrorNameOf(new NoSuchKey({ message: 'no', $metadata: { httpStatusCode: 404 } }))).toBe('NoSuchKey');
    expect(sdkErrorNameOf(new S3ServiceException({ name: 'SlowDown', $fault: 'server', message: 'slow', $metadata: {} }))).toBe('SlowDown');
  });

  test('no answer (connection refused, timeout): SdkClientException', () => {
    expect(sdkErrorNameOf(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', $metadata: { attempts: 3 } }))).toBe('SdkClientException');
    expect(sdkErrorNameOf(Object.assign(new Error('timed out'), { name: 'TimeoutError' }))).toBe('SdkClientException');
    expect(sdkErrorNameOf(undefined)).toBe('SdkClientException');
  });

  test('the task error keeps the SDK message under the integration name', () => {
    const e = integrationError('S3.NoSuchKeyException', new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} }));
    expect(e).toMatchObject({ name: 'S3.NoSuchKeyException', message: 'The specified key does not exist.' });
  });
});
