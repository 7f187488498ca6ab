import { Duration, Size } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';

/** How audit records reach the audit bucket. */
export enum AuditDeliveryType {
  /** One record per image into a Kinesis Data Firehose delivery stream, delivered as GZIP JSON-lines objects. */
  DELIVERY_STREAM = 'DELIVERY_STREAM',
  /** One JSON object per image, written by the workflow with S3 PutObject. */
  OBJECT_PER_IMAGE = 'OBJECT_PER_IMAGE',
}

/**
 * Options for {@link AuditTrail.deliveryStream}.
 */
export interface AuditDeliveryStreamOptions {
  /**
   * Longest Firehose buffers records before it writes an object (0 to 900 seconds). Longer means fewer, larger
   * objects (cheaper to write and to query) and records that appear later.
   *
   * @default Duration.minutes(5)
   */
  readonly bufferingInterval?: Duration;
  /**
   * Most data Firehose buffers before it writes an object (1 to 128 MiB, before compression).
   *
   * @default Size.mebibytes(64)
   */
  readonly bufferingSize?: Size;
}

/**
 * How audit records are delivered. Use a static factory: `AuditTrail.deliveryStream()` (the default) or
 * `AuditTrail.objectPerImage()`.
 */
export abstract class AuditTrail {
  /**
   * Each execution puts its result record into a Kinesis Data Firehose delivery stream
   * (`aws-sdk:firehose:putRecord`), which writes GZIP JSON lines under `<prefix>yyyy/MM/dd/` (UTC, the day the
   * object's oldest record arrived), encrypted with the pipeline's key. Records Firehose cannot process go to
   * `<prefix without its slash>-errors/`. About $0.19 per 1M records (5 KB billing steps, with the objects' PUTs)
   * instead of $5 of PutObject requests, and objects Athena reads in bulk. The default.
   */
  public static deliveryStream(options: AuditDeliveryStreamOptions = {}): AuditTrail {
    return new ConfiguredAuditTrail(AuditDeliveryType.DELIVERY_STREAM, options);
  }

  /**
   * The workflow writes each record as its own object, `<prefix>yyyy/mm/dd/<execution name>.json` (the
   * execution's start day, UTC): every record at a known key as soon as the execution ends, at one PutObject
   * request per image.
   */
  public static objectPerImage(): AuditTrail {
    return new ConfiguredAuditTrail(AuditDeliveryType.OBJECT_PER_IMAGE, {});
  }

  /** Which delivery this is. */
  public abstract readonly type: AuditDeliveryType;
  /** Delivery stream only: its options as given. */
  public abstract readonly deliveryStreamOptions?: AuditDeliveryStreamOptions;
}

class ConfiguredAuditTrail extends AuditTrail {
  public readonly deliveryStreamOptions?: AuditDeliveryStreamOptions;

  constructor(public readonly type: AuditDeliveryType, options: AuditDeliveryStreamOptions) {
    super();
    this.deliveryStreamOptions = type === AuditDeliveryType.DELIVERY_STREAM ? options : undefined;
  }
}

/**
 * The audit trail: one JSON result record per classification, whatever its outcome, with a Glue table and
 * Athena named queries over the records.
 */
export interface AuditTrailOptions {
  /**
   * Write audit records.
   *
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * How records reach the bucket.
   *
   * @default AuditTrail.deliveryStream()
   */
  readonly delivery?: AuditTrail;
  /**
   * Bucket for the records.
   *
   * @default - a bucket is created: encrypted with the pipeline's key, TLS-only, public access blocked, versioned, retained
   */
  readonly bucket?: s3.IBucket;
  /**
   * Key prefix of the records (and the Glue table's location). Records are partitioned by day under it:
   * `<prefix>yyyy/MM/dd/`.
   *
   * @default 'results/'
   */
  readonly prefix?: string;
  /**
   * Delete records this long after they are written (created bucket only).
   *
   * @default - kept forever
   */
  readonly retention?: Duration;
  /**
   * Create a Glue database and table over the records (partition projection on the day: no crawler, no
   * `MSCK REPAIR TABLE`), an Athena workgroup whose results are encrypted with the pipeline's key, and named
   * queries: outcomes per day, flagged images, errors by name, low-confidence rate per label.
   *
   * @default true
   */
  readonly catalog?: boolean;
  /**
   * Name of the Glue database (lower case letters, digits and underscores).
   *
   * @default - derived from the stack and the construct path, e.g. `ics_mystack_pipeline_1a2b3c4d`
   */
  readonly databaseName?: string;
}
