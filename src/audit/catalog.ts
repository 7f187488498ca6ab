import { Names, Stack } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { AuditDeliveryType } from './audit-trail';
import { AUDIT_QUERIES } from './queries';
import { AUDIT_COLUMNS, AUDIT_PARTITION_COLUMN, AUDIT_TABLE_NAME, AUDIT_TABLE_SCHEMA_VERSION } from './schema';

/** Where the Athena workgroup writes query results in the audit bucket (outside the table's location). */
export const ATHENA_RESULTS_PREFIX = 'athena-results/';

export interface AuditCatalogProps {
  readonly bucket: s3.IBucket;
  readonly prefix: string;
  readonly delivery: AuditDeliveryType;
  readonly key: kms.IKey;
  readonly databaseName?: string;
}

/** The Glue database name the pipeline derives from its path: lower case letters, digits and underscores. */
export function defaultDatabaseName(scope: Construct): string {
  return Names.uniqueResourceName(scope, { maxLength: 120, separator: '_' }).toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

/**
 * The audit trail's analytics: a Glue database and table over the records with partition projection on the day
 * (`dt`, `yyyy/MM/dd`, the key segment both delivery modes write), so new days are queryable without a crawler
 * or `MSCK REPAIR TABLE`; an Athena workgroup whose query results are encrypted with the pipeline's key; and the
 * named queries of {@link AUDIT_QUERIES}.
 */
export class AuditCatalog extends Construct {
  public readonly databaseName: string;
  public readonly tableName = AUDIT_TABLE_NAME;
  public readonly workGroupName: string;

  constructor(scope: Construct, id: string, props: AuditCatalogProps) {
    super(scope, id);
    const { bucket, prefix, key } = props;
    const account = Stack.of(this).account;
    this.databaseName = props.databaseName ?? defaultDatabaseName(scope);
    const location = `s3://${bucket.bucketName}/${prefix}`;

    const database = new glue.CfnDatabase(this, 'Database', {
      catalogId: account,
      databaseInput: { name: this.databaseName, description: 'Audit records of an image classification pipeline (cdk-image-classification-pipeline)' },
    });
    const table = new glue.CfnTable(this, 'Table', {
      catalogId: account,
      databaseName: this.databaseName,
      tableInput: {
        name: AUDIT_TABLE_NAME,
        description: `One row per classified image (result schema ${AUDIT_TABLE_SCHEMA_VERSION})`,
        tableType: 'EXTERNAL_TABLE',
        partitionKeys: [AUDIT_PARTITION_COLUMN],
        parameters: {
          'EXTERNAL': 'TRUE',
          'classification': 'json',
          'compressionType': props.delivery === AuditDeliveryType.DELIVERY_STREAM ? 'gzip' : 'none',
          'ics.schemaVersion': AUDIT_TABLE_SCHEMA_VERSION,
          // Partition projection: Athena computes the day partitions from the query's dt predicate.
          'projection.enabled': 'true',
          'projection.dt.type': 'date',
          'projection.dt.format': 'yyyy/MM/dd',
          'projection.dt.range': '2026/01/01,NOW',
          'projection.dt.interval': '1',
          'projection.dt.interval.unit': 'DAYS',
          'storage.location.template': `${location}\${dt}/`,
        },
        storageDescriptor: {
          location,
          columns: AUDIT_COLUMNS.map((c) => ({ ...c })),
          inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          // The OpenX SerDe maps camelCase keys onto the lower-case columns; it reads GZIP by the .gz extension.
          serdeInfo: { serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe', parameters: { 'case.insensitive': 'TRUE' } },
        },
      },
    });
    table.addResourceDependency(database);

    this.workGroupName = Names.uniqueResourceName(scope, { maxLength: 128, separator: '-' });
    const workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: this.workGroupName,
      description: 'Queries over the audit records of an image classification pipeline',
      // Deleting the stack also deletes the workgroup's query history (the results stay in the bucket).
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        resultConfiguration: {
          outputLocation: `s3://${bucket.bucketName}/${ATHENA_RESULTS_PREFIX}`,
          encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKey: key.keyArn },
        },
      },
    });
    for (const query of AUDIT_QUERIES) {
      const named = new athena.CfnNamedQuery(this, `Query-${query.id}`, {
        name: `${this.databaseName}-${query.id}`,
        description: query.description,
        database: this.databaseName,
        workGroup: workGroup.ref,
        queryString: query.sql,
      });
      named.addResourceDependency(table);
    }
  }
}
