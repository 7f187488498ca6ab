/** How a pipeline classifies many images in one execution. */
export enum BulkModeType {
  /** No bulk state machine. */
  NONE = 'NONE',
  /** An inline Map over an image list in the execution input. */
  INLINE = 'INLINE',
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

  /** Which kind of bulk mode this is. */
  public abstract readonly type: BulkModeType;
  /** The options it was created with. */
  public abstract readonly options: InlineBulkOptions;
}

class ConfiguredBulkMode extends BulkMode {
  constructor(public readonly type: BulkModeType, public readonly options: InlineBulkOptions) {
    super();
  }
}
