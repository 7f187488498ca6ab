import * as sfn from 'aws-cdk-lib/aws-stepfunctions';

/** How a pipeline classifies many images in one execution. */
export enum BulkModeType {
  /** No bulk state machine. */
  NONE = 'NONE',
  /** An inline Map over an image list in the execution input. */
  INLINE = 'INLINE',
  /** A Distributed Map over an S3 listing or a manifest, one child workflow per image. */
  DISTRIBUTED = 'DISTRIBUTED',
}

/**
 * Options for {@link BulkMode.inline}.
 */
export interface InlineBulkOptions {
  /**
   * Images classified at the same time. Step Functions runs at most 40 inline Map iterations in parallel.
   *
   * @default 40
   */
  readonly maxConcurrency?: number;

  /**
   * Also alert per image, as single-image executions do. The batch always sends one digest alert when any
   * image is FLAGGED, LOW_CONFIDENCE or ERROR.
   *
   * @default false
   */
  readonly alertPerItem?: boolean;

  /**
   * Type of the bulk state machine. STANDARD bills every state transition of every image (about 11 per image,
   * roughly USD 290 per million images in the committed benchmark); EXPRESS bills duration instead (about 20 times
   * cheaper) but a batch must finish within Express's 5 minutes (a few hundred images at the default concurrency
   * with a fast endpoint) and, started asynchronously, runs at least once and keeps its history only in the log.
   *
   * @default sfn.StateMachineType.STANDARD
   */
  readonly executionType?: sfn.StateMachineType;
}

/**
 * Options for {@link BulkMode.distributed}.
 */
export interface DistributedBulkOptions {
  /**
   * Child workflows running at the same time (1 to 10,000).
   *
   * @default 1000
   */
  readonly maxConcurrency?: number;

  /**
   * Percentage of images that may end as ERROR before the batch fails (0 to 100).
   *
   * @default 10
   */
  readonly toleratedFailurePercentage?: number;

  /**
   * Images per child workflow. Batching cuts child executions (each is a request charge) by this factor;
   * inside a batch ERROR images become ERROR items, so the tolerance then counts failed batches, not
   * bad images.
   *
   * @default - one image per child workflow
   */
  readonly itemBatchSize?: number;

  /**
   * Child workflow type: EXPRESS is cheaper per image; STANDARD keeps a full history per image.
   *
   * @default sfn.StateMachineType.EXPRESS
   */
  readonly executionType?: sfn.StateMachineType;

  /**
   * Also alert per image, besides the batch digest.
   *
   * @default false
   */
  readonly alertPerItem?: boolean;
}

/**
 * Bulk classification: a second state machine that classifies a list of images with the same per-image
 * workflow, then summarizes the batch. Use a static factory, e.g. `BulkMode.inline()`.
 */
export abstract class BulkMode {
  /** No bulk state machine (default). */
  public static none(): BulkMode {
    return new ConfiguredBulkMode(BulkModeType.NONE, {});
  }

  /**
   * An inline Map over `{ "images": [{ "bucket"?, "key" }, ...] }`: for hundreds of images per execution
   * (the execution input and the compact per-image outcomes share the 256 KiB state limit, roughly 1,000 images).
   */
  public static inline(options: InlineBulkOptions = {}): BulkMode {
    return new ConfiguredBulkMode(BulkModeType.INLINE, options);
  }

  /**
   * A Distributed Map for thousands to millions of images: input `{ "bucket"?, "prefix" }` (every object under
   * the prefix of the pipeline's bucket, via an S3 listing) or `{ "manifest": { "bucket", "key", "format": "CSV" | "JSON" | "JSONL" } }`
   * (rows or objects with `key` and optional `bucket`). Each image runs in its own child workflow; results
   * are written next to the audit records by the Map's result writer.
   */
  public static distributed(options: DistributedBulkOptions = {}): BulkMode {
    return new ConfiguredBulkMode(BulkModeType.DISTRIBUTED, options);
  }

  /** Which kind of bulk mode this is. */
  public abstract readonly type: BulkModeType;
  /** Images classified at the same time. */
  public abstract readonly maxConcurrency?: number;
  /** Whether images also alert one by one. */
  public abstract readonly alertPerItem?: boolean;
  /** Distributed only: ERROR percentage the batch tolerates. */
  public abstract readonly toleratedFailurePercentage?: number;
  /** Inline: the bulk state machine's type. Distributed: the child workflows' type. */
  public abstract readonly executionType?: sfn.StateMachineType;
  /** Distributed only: images per child workflow. */
  public abstract readonly itemBatchSize?: number;
}

class ConfiguredBulkMode extends BulkMode {
  public readonly maxConcurrency?: number;
  public readonly alertPerItem?: boolean;
  public readonly toleratedFailurePercentage?: number;
  public readonly executionType?: sfn.StateMachineType;
  public readonly itemBatchSize?: number;

  constructor(public readonly type: BulkModeType, options: DistributedBulkOptions & InlineBulkOptions) {
    super();
    this.maxConcurrency = options.maxConcurrency;
    this.alertPerItem = options.alertPerItem;
    this.toleratedFailurePercentage = options.toleratedFailurePercentage;
    this.executionType = options.executionType;
    this.itemBatchSize = options.itemBatchSize;
  }
}
