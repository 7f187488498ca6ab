import { Duration } from 'aws-cdk-lib';

/** How a {@link ClassifierEndpoint} runs its model. */
export enum EndpointHostingType {
  /** Serverless inference: scales to zero, billed per request and compute time; cold starts after idle periods. */
  SERVERLESS = 'SERVERLESS',
  /** Real-time inference on ML instances: billed per instance-hour, no cold starts. */
  INSTANCES = 'INSTANCES',
}

/**
 * Options for {@link EndpointHosting.serverless}.
 */
export interface ServerlessHostingOptions {
  /**
   * Memory of each serverless worker: 1024, 2048, 3072, 4096, 5120 or 6144 MB. vCPUs grow with memory.
   *
   * @default 2048
   */
  readonly memorySizeInMb?: number;

  /**
   * Invocations processed at the same time, 1 to 200 (an account-wide quota also applies). Further requests are
   * throttled and retried by the pipeline.
   *
   * @default 10
   */
  readonly maxConcurrency?: number;

  /**
   * Workers kept warm (no cold start), 1 to `maxConcurrency`; billed while provisioned.
   *
   * @default - none: every worker may cold start
   */
  readonly provisionedConcurrency?: number;
}

/**
 * Target-tracking autoscaling of an instance-backed endpoint on invocations per instance.
 */
export interface EndpointAutoScalingOptions {
  /** Fewest instances, at least 1. */
  readonly minCapacity: number;

  /** Most instances, at least `minCapacity`. */
  readonly maxCapacity: number;

  /**
   * Invocations per instance per minute to hold (the `SageMakerVariantInvocationsPerInstance` metric); load-test
   * the model to find it.
   */
  readonly targetInvocationsPerInstance: number;

  /**
   * Wait after a scale-in before the next one.
   *
   * @default - Application Auto Scaling's default (300 seconds)
   */
  readonly scaleInCooldown?: Duration;

  /**
   * Wait after a scale-out before the next one.
   *
   * @default - Application Auto Scaling's default (300 seconds)
   */
  readonly scaleOutCooldown?: Duration;
}

/**
 * Options for {@link EndpointHosting.instances}.
 */
export interface InstanceHostingOptions {
  /**
   * ML instance type, e.g. `ml.m5.large` or `ml.g4dn.xlarge`.
   */
  readonly instanceType: string;

  /**
   * Instances at launch, at least 1.
   *
   * @default - `autoScaling.minCapacity`, or 1 without autoscaling
   */
  readonly initialInstanceCount?: number;

  /**
   * Scale the instance count on invocations per instance.
   *
   * @default - a fixed instance count
   */
  readonly autoScaling?: EndpointAutoScalingOptions;
}

/**
 * Where a {@link ClassifierEndpoint} runs its model. Use a static factory, e.g. `EndpointHosting.serverless()`.
 */
export abstract class EndpointHosting {
  /**
   * Serverless inference (default): no instances to manage, scales to zero, billed per request and compute time.
   * Expect cold starts of seconds after idle periods (use `provisionedConcurrency` to avoid them), a 4 MB request
   * limit, CPU only, and no data capture.
   */
  public static serverless(options: ServerlessHostingOptions = {}): EndpointHosting {
    return new ConfiguredHosting(EndpointHostingType.SERVERLESS, {
      memorySizeInMb: options.memorySizeInMb ?? 2048,
      maxConcurrency: options.maxConcurrency ?? 10,
      provisionedConcurrency: options.provisionedConcurrency,
    });
  }

  /**
   * Real-time inference on ML instances: steady latency, GPUs, data capture; billed per instance-hour
   * whether or not images arrive.
   */
  public static instances(options: InstanceHostingOptions): EndpointHosting {
    return new ConfiguredHosting(EndpointHostingType.INSTANCES, {
      instanceType: options.instanceType,
      initialInstanceCount: options.initialInstanceCount ?? options.autoScaling?.minCapacity ?? 1,
      autoScaling: options.autoScaling,
    });
  }

  /** Which kind of hosting this is. */
  public abstract readonly type: EndpointHostingType;
  /** Serverless only: memory per worker in MB. */
  public abstract readonly memorySizeInMb?: number;
  /** Serverless only: most concurrent invocations. */
  public abstract readonly maxConcurrency?: number;
  /** Serverless only: workers kept warm. */
  public abstract readonly provisionedConcurrency?: number;
  /** Instances only: the ML instance type. */
  public abstract readonly instanceType?: string;
  /** Instances only: instances at launch. */
  public abstract readonly initialInstanceCount?: number;
  /** Instances only: autoscaling. */
  public abstract readonly autoScaling?: EndpointAutoScalingOptions;
}

interface HostingFields {
  readonly memorySizeInMb?: number;
  readonly maxConcurrency?: number;
  readonly provisionedConcurrency?: number;
  readonly instanceType?: string;
  readonly initialInstanceCount?: number;
  readonly autoScaling?: EndpointAutoScalingOptions;
}

class ConfiguredHosting extends EndpointHosting {
  public readonly memorySizeInMb?: number;
  public readonly maxConcurrency?: number;
  public readonly provisionedConcurrency?: number;
  public readonly instanceType?: string;
  public readonly initialInstanceCount?: number;
  public readonly autoScaling?: EndpointAutoScalingOptions;

  constructor(public readonly type: EndpointHostingType, fields: HostingFields) {
    super();
    this.memorySizeInMb = fields.memorySizeInMb;
    this.maxConcurrency = fields.maxConcurrency;
    this.provisionedConcurrency = fields.provisionedConcurrency;
    this.instanceType = fields.instanceType;
    this.initialInstanceCount = fields.initialInstanceCount;
    this.autoScaling = fields.autoScaling;
  }
}
