import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { AuditDeliveryType, AuditTrail, AuditTrailOptions } from './audit-trail';
import { AuditCatalog } from './catalog';
import { AuditDeliveryStream } from './delivery-stream';

/** What the audit part needs of the pipeline's storage. */
export interface AuditResourcesProps {
  readonly options?: AuditTrailOptions;
  readonly bucket: s3.IBucket;
  readonly prefix: string;
  readonly key: kms.IKey;
  readonly logGroupProps: logs.LogGroupProps;
}

/** The audit trail's delivery stream (default delivery) and catalog (default on). */
export interface AuditResources {
  readonly delivery: AuditDeliveryType;
  readonly deliveryStream?: AuditDeliveryStream;
  readonly catalog?: AuditCatalog;
}

/** The audit part, in the pipeline's own scope: how records are delivered and the table over them. */
export function createAuditResources(scope: Construct, props: AuditResourcesProps): AuditResources {
  const trail = props.options?.delivery ?? AuditTrail.deliveryStream();
  const deliveryStream = trail.type === AuditDeliveryType.DELIVERY_STREAM
    ? new AuditDeliveryStream(scope, 'AuditStream', {
      bucket: props.bucket,
      prefix: props.prefix,
      key: props.key,
      options: trail.deliveryStreamOptions ?? {},
      logGroupProps: props.logGroupProps,
    })
    : undefined;
  const catalog = (props.options?.catalog ?? true)
    ? new AuditCatalog(scope, 'AuditCatalog', {
      bucket: props.bucket,
      prefix: props.prefix,
      delivery: trail.type,
      key: props.key,
      databaseName: props.options?.databaseName,
    })
    : undefined;
  return { delivery: trail.type, deliveryStream, catalog };
}
