import { Duration, Size } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { pipelineStack } from './stacks';
import { AuditTrail } from '../src';
import { AUDIT_QUERIES } from '../src/audit/queries';
import { AUDIT_COLUMNS } from '../src/audit/schema';

const resourcesOf = (json: any, type: string) => Object.entries<any>(json.Resources).filter(([, r]) => r.Type === type);
const statementsOfRole = (json: any, rolePrefix: string) => resourcesOf(json, 'AWS::IAM::Policy')
  .filter(([, r]) => r.Properties.Roles.some((role: any) => role.Ref?.startsWith(rolePrefix)))
  .flatMap(([, r]) => r.Properties.PolicyDocument.Statement);

describe('the default audit trail: a Firehose delivery stream', () => {
  const { template, json, definition, pipeline } = pipelineStack();
  const [[streamId, stream]] = resourcesOf(json, 'AWS::KinesisFirehose::DeliveryStream');

  test('direct PUT, encrypted with the pipeline key, GZIP JSON lines under results/yyyy/MM/dd/, errors outside the table', () => {
    expect(stream.Properties).toMatchObject({
      DeliveryStreamType: 'DirectPut',
      DeliveryStreamEncryptionConfigurationInput: { KeyType: 'CUSTOMER_MANAGED_CMK', KeyARN: { 'Fn::GetAtt': [expect.stringMatching(/^IcsEncryptionKey/), 'Arn'] } },
      ExtendedS3DestinationConfiguration: {
        BucketARN: { 'Fn::GetAtt': [expect.stringMatching(/^IcsAuditBucket/), 'Arn'] },
        Prefix: 'results/!{timestamp:yyyy/MM/dd}/',
        ErrorOutputPrefix: 'results-errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/',
        CompressionFormat: 'GZIP',
        BufferingHints: { IntervalInSeconds: 300, SizeInMBs: 64 },
        EncryptionConfiguration: { KMSEncryptionConfig: { AWSKMSKeyARN: { 'Fn::GetAtt': [expect.stringMatching(/^IcsEncryptionKey/), 'Arn'] } } },
        ProcessingConfiguration: { Enabled: true, Processors: [{ Type: 'AppendDelimiterToRecord' }] },
        CloudWatchLoggingOptions: { Enabled: true, LogGroupName: { Ref: expect.stringMatching(/^IcsAuditStreamLogs/) } },
      },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: Match.anyValue(), RetentionInDays: 365 });
    expect(pipeline.auditDeliveryStreamName).toBeDefined();
  });

  test('the workflow puts the result record, retrying throttling, and fails AuditWriteFailed after retries', () => {
    const write = definition.States.WriteAuditRecord;
    expect(write).toMatchObject({
      Resource: expect.stringMatching(/:states:::aws-sdk:firehose:putRecord$/),
      Parameters: { DeliveryStreamName: expect.any(String), Record: { 'Data.$': '$.result' } },
      ResultPath: null,
    });
    expect(write.Retry[0]).toMatchObject({ ErrorEquals: ['Firehose.ServiceUnavailableException', 'Firehose.SdkClientException'], MaxAttempts: 4 });
    expect(write.Catch).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'AuditWriteFailed' })]);
  });

  test('IAM: the state machine may only PutRecord on the stream; the stream\'s role writes only under its two prefixes', () => {
    const sm = statementsOfRole(json, 'IcsStateMachineRole');
    expect(sm.filter((s) => [].concat(s.Action).some((a: string) => a.startsWith('firehose:')))).toEqual([
      expect.objectContaining({ Action: 'firehose:PutRecord', Resource: { 'Fn::GetAtt': [streamId, 'Arn'] } }),
    ]);
    const role = statementsOfRole(json, 'IcsAuditStreamRole');
    const put = role.find((s) => [].concat(s.Action).includes('s3:PutObject' as never));
    expect(JSON.stringify(put.Resource)).toContain('/results/*');
    expect(JSON.stringify(put.Resource)).toContain('/results-errors/*');
    expect(JSON.stringify(put.Resource)).not.toMatch(/"\/\*"/);
    const kms = role.find((s) => [].concat(s.Action).includes('kms:GenerateDataKey' as never));
    expect(JSON.stringify(kms.Condition.StringEquals['kms:ViaService'])).toMatch(/^"?s3\.eu-west-1\.|"s3\.eu-west-1\."/);
    expect(kms.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^IcsEncryptionKey/), 'Arn'] });
    const logs = role.find((s) => s.Action === 'logs:PutLogEvents');
    expect(JSON.stringify(logs.Resource)).toContain(':log-stream:');
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'firehose.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': '111111111111' } } })] },
    });
  });

  test('buffering interval and size are props', () => {
    const delivery = AuditTrail.deliveryStream({ bufferingInterval: Duration.minutes(15), bufferingSize: Size.mebibytes(128) });
    const tuned = pipelineStack({ auditTrail: { delivery } });
    tuned.template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      ExtendedS3DestinationConfiguration: Match.objectLike({ BufferingHints: { IntervalInSeconds: 900, SizeInMBs: 128 } }),
    });
  });
});

describe('the Glue table and Athena named queries', () => {
  const { json, pipeline } = pipelineStack();
  const [[, table]] = resourcesOf(json, 'AWS::Glue::Table');

  test('a table with partition projection on the day, columns of the result schema, the OpenX JSON SerDe', () => {
    const [[, database]] = resourcesOf(json, 'AWS::Glue::Database');
    expect(database.Properties.DatabaseInput.Name).toBe(pipeline.auditDatabaseName);
    expect(pipeline.auditDatabaseName).toMatch(/^[a-z0-9_]+$/);
    const input = table.Properties.TableInput;
    expect(input).toMatchObject({
      Name: 'audit_records',
      TableType: 'EXTERNAL_TABLE',
      PartitionKeys: [{ Name: 'dt', Type: 'string', Comment: expect.any(String) }],
      Parameters: {
        'projection.enabled': 'true',
        'projection.dt.type': 'date',
        'projection.dt.format': 'yyyy/MM/dd',
        'projection.dt.interval.unit': 'DAYS',
        'compressionType': 'gzip',
        'ics.schemaVersion': '1.1',
      },
      StorageDescriptor: { SerdeInfo: { SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe' } },
    });
    const template = JSON.stringify(input.Parameters['storage.location.template']);
    expect(template).toContain('/results/${dt}/');
    expect(input.StorageDescriptor.Columns.map((c: any) => c.Name)).toEqual(AUDIT_COLUMNS.map((c) => c.name));
    // Every field of a result record has its column (lower case).
    for (const field of ['schemaVersion', 'outcome', 'label', 'confidence', 'scores', 'topK', 'error', 'quarantine', 'classifiedAt', 'executionArn']) {
      expect(input.StorageDescriptor.Columns.map((c: any) => c.Name)).toContain(field.toLowerCase());
    }
  });

  test('a workgroup that encrypts query results with the pipeline key, and one named query per report', () => {
    const [[wgId, wg]] = resourcesOf(json, 'AWS::Athena::WorkGroup');
    expect(wg.Properties).toMatchObject({
      Name: pipeline.auditWorkGroupName,
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        ResultConfiguration: { EncryptionConfiguration: { EncryptionOption: 'SSE_KMS', KmsKey: { 'Fn::GetAtt': [expect.stringMatching(/^IcsEncryptionKey/), 'Arn'] } } },
      },
    });
    expect(JSON.stringify(wg.Properties.WorkGroupConfiguration.ResultConfiguration.OutputLocation)).toContain('/athena-results/');
    const queries = resourcesOf(json, 'AWS::Athena::NamedQuery').map(([, q]) => q.Properties);
    expect(queries.map((q) => q.Name)).toEqual(AUDIT_QUERIES.map((q) => `${pipeline.auditDatabaseName}-${q.id}`));
    for (const q of queries) {
      expect(q).toMatchObject({ Database: pipeline.auditDatabaseName, WorkGroup: { Ref: wgId } });
      expect(q.QueryString).toContain('FROM audit_records');
      expect(q.QueryString).toContain('dt BETWEEN ? AND ?');
    }
  });

  test('your database name, or no catalog at all', () => {
    const named = pipelineStack({ auditTrail: { databaseName: 'camera_audit' } });
    expect(named.pipeline.auditDatabaseName).toBe('camera_audit');
    const off = pipelineStack({ auditTrail: { catalog: false } });
    expect(resourcesOf(off.json, 'AWS::Glue::Table')).toEqual([]);
    expect(resourcesOf(off.json, 'AWS::Athena::NamedQuery')).toEqual([]);
    expect(off.pipeline.auditDatabaseName).toBeUndefined();
  });
});

describe('AuditTrail.objectPerImage()', () => {
  const { json, definition } = pipelineStack({}, (stack) => ({
    auditTrail: { delivery: AuditTrail.objectPerImage(), bucket: s3.Bucket.fromBucketName(stack, 'Audit', 'my-audit'), prefix: 'audit/' },
  }));

  test('one PutObject per image at <prefix>yyyy/mm/dd/<execution name>.json; no delivery stream; the table reads plain JSON there', () => {
    expect(resourcesOf(json, 'AWS::KinesisFirehose::DeliveryStream')).toEqual([]);
    expect(definition.States.WriteAuditRecord).toMatchObject({ Resource: expect.stringMatching(/aws-sdk:s3:putObject$/), Parameters: { Bucket: 'my-audit' } });
    const [[, table]] = resourcesOf(json, 'AWS::Glue::Table');
    expect(table.Properties.TableInput.Parameters).toMatchObject({ 'compressionType': 'none', 'storage.location.template': 's3://my-audit/audit/${dt}/' });
  });
});

describe('audit trail and log level validation', () => {
  test('every bad option is reported in one error', () => {
    expect(() => pipelineStack({
      auditTrail: {
        prefix: 'records',
        databaseName: 'Bad-Name',
        delivery: AuditTrail.deliveryStream({ bufferingInterval: Duration.minutes(20), bufferingSize: Size.kibibytes(512) }),
      },
    })).toThrow(new RegExp([
      'bufferingInterval must be 0 to 900 seconds, got 20 minutes',
      'bufferingSize must be a whole number of MiB from 1 to 128',
      'databaseName must be 1 to 255 lower-case letters',
      'auditTrail.prefix must be a folder like "results/"',
    ].join('[\\s\\S]*')));
    expect(() => pipelineStack({ auditTrail: { catalog: false, databaseName: 'x' } })).toThrow(/databaseName is set but catalog is false/);
    // A prefix without a trailing slash is fine without the catalog.
    expect(() => pipelineStack({ auditTrail: { catalog: false, prefix: 'records' } })).not.toThrow();
  });
});
