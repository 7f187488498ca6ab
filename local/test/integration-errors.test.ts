import { NoSuchKey, S3ServiceException } from '@aws-sdk/client-s3';
import {
  blobParameterText, integrationError, optimizedIntegrationErrorName, s3BodyParameterText, sdkErrorNameOf, sdkIntegrationErrorName,
  sdkIntegrationErrorNames, sdkIntegrationServiceName, sdkModelledErrors,
} from '../src/integration-errors';

describe('AWS SDK integration error names, as Step Functions reports them', () => {
  test.each([
    // The Step Functions guide's own examples ("AWS SDK service integrations").
    ['acmpca', 'ResourceNotFoundException', 'AcmPca.ResourceNotFoundException'],
    ['s3', 'BucketAlreadyExists', 'S3.BucketAlreadyExistsException'],
    // Recorded on AWS (LocalStack tests/aws/services/stepfunctions/v2/error_handling/test_aws_sdk.snapshot.json):
    // modelled codes get the suffix (test_s3_no_such_key, test_no_such_bucket, test_dynamodb_put_item_no_such_table),
    // a code the model does not define is the SDK's base exception (test_dynamodb_invalid_param: ValidationException).
    ['s3', 'NoSuchKey', 'S3.NoSuchKeyException'],
    ['s3', 'NoSuchBucket', 'S3.NoSuchBucketException'],
    ['dynamodb', 'ResourceNotFoundException', 'DynamoDb.ResourceNotFoundException'],
    ['dynamodb', 'ValidationException', 'DynamoDb.DynamoDbException'],
    // S3 codes in no operation of the S3 model: the base exception, never `S3.SlowDownException`.
    ['s3', 'SlowDown', 'S3.S3Exception'],
    ['s3', 'InternalError', 'S3.S3Exception'],
    ['s3', 'ServiceUnavailable', 'S3.S3Exception'],
    ['firehose', 'ThrottlingException', 'Firehose.FirehoseException'],
    ['firehose', 'ServiceUnavailableException', 'Firehose.ServiceUnavailableException'],
    // Names that already end in Exception are kept.
    ['rekognition', 'InvalidS3ObjectException', 'Rekognition.InvalidS3ObjectException'],
    ['rekognition', 'InternalServerError', 'Rekognition.InternalServerErrorException'],
    ['rekognition', 'SlowDown', 'Rekognition.RekognitionException'],
    ['s3', 'SdkClientException', 'S3.SdkClientException'],
    ['dynamodb', 'ConditionalCheckFailedException', 'DynamoDb.ConditionalCheckFailedException'],
    // A service the kit does not know keeps every code.
    ['secretsmanager', 'ResourceNotFoundException', 'Secretsmanager.ResourceNotFoundException'],
  ])('aws-sdk:%s error %s is %s', (service, sdkName, expected) => {
    expect(sdkIntegrationErrorName(service, sdkName)).toBe(expected);
  });

  test("the S3 model's errors come from the installed SDK's exception classes", () => {
    expect([...sdkModelledErrors('s3')!]).toEqual(expect.arrayContaining(['NoSuchKey', 'NoSuchBucket', 'InvalidObjectState', 'NotFound', 'BucketAlreadyExists']));
    expect(['SlowDown', 'InternalError', 'ServiceUnavailable'].filter((c) => sdkModelledErrors('s3')!.has(c))).toEqual([]);
    expect(sdkIntegrationErrorNames('s3')).toEqual(expect.arrayContaining(['S3.NoSuchKeyException', 'S3.S3Exception', 'S3.SdkClientException']));
    expect(sdkIntegrationErrorNames('secretsmanager')).toBeUndefined();
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

  test("an answer's cause ends with the service, HTTP status and request ID, as recorded on AWS (test_aws_sdk.snapshot.json)", () => {
    const slow = new S3ServiceException({ name: 'SlowDown', $fault: 'server', message: 'Please reduce your request rate.', $metadata: { httpStatusCode: 503, requestId: 'R1' } });
    expect(integrationError('S3.S3Exception', slow, 'S3').message).toBe('Please reduce your request rate. (Service: S3, Status Code: 503, Request ID: R1)');
  });
});

describe('blob parameters', () => {
  // Recorded on AWS: LocalStack tests/aws/services/stepfunctions/v2/services/test_aws_sdk_task_service.snapshot.json,
  // test_s3_put_object[str] reads back "\"text data\"" (ContentLength 11), [dict] {"Dict":"Value"} (16), [bool] false, [num] 0.
  test.each([
    ['text data', '"text data"'],
    [{ Dict: 'Value' }, '{"Dict":"Value"}'],
    [['List', 'Data'], '["List","Data"]'],
    [false, 'false'],
    [0, '0'],
  ])('aws-sdk:s3:putObject Body %j is stored as %s', (body, stored) => {
    expect(s3BodyParameterText(body)).toBe(stored);
  });

  test('Firehose Record.Data: a string as its bytes, an object as compact JSON (no recording known; DESIGN.md)', () => {
    expect(blobParameterText('{"a":1}')).toBe('{"a":1}');
    expect(blobParameterText({ a: 1, b: [true] })).toBe('{"a":1,"b":[true]}');
  });
});
