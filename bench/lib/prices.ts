/**
 * us-east-1 list prices (USD) used to turn counted work into dollars, first pricing tier, no free tier.
 * Retrieved 2026-11-22 (SQS and DynamoDB: 2026-12-01) from the stored public text of the pages below (this machine cannot browse the live pages):
 * re-check them before quoting a figure in a decision.
 */
export const PRICES = {
  retrieved: '2026-11-22',
  region: 'us-east-1',
  stepFunctions: {
    /** $0.025 per 1,000 state transitions, retries included. */
    standardPerTransition: 0.025 / 1000,
    /** $1.00 per 1M requests. */
    expressPerRequest: 1.0 / 1e6,
    /** $0.00001667 per GB-second (first 1,000 K GB-hours), duration rounded up to 100 ms, memory in 64 MB chunks. */
    expressPerGbSecond: 0.00001667,
    expressBillingIncrementMs: 100,
    expressMemoryChunkMb: 64,
    source: 'https://aws.amazon.com/step-functions/pricing/ (state transitions table, US East (N. Virginia) $0.0250 per 1,000; '
      + 'Express: $1.00 per 1M requests and $0.00001667 per GB-second as quoted by the AWS Step Functions workshop and '
      + 'https://aws.amazon.com/blogs/compute/building-cost-effective-aws-step-functions-workflows/)',
  },
  lambda: {
    /** $0.20 per 1M requests. */
    perRequest: 0.2 / 1e6,
    /** Per GB-second, first tier: x86_64 $0.0000166667, arm64 $0.0000133334; duration billed per 1 ms. */
    perGbSecond: { x86_64: 0.0000166667, arm64: 0.0000133334 } as Record<string, number>,
    source: 'https://aws.amazon.com/lambda/pricing/ (as quoted by third-party summaries of that page; INIT duration is billed '
      + 'since 2025-08-01: https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/)',
  },
  sns: {
    /** Standard topics: $0.50 per 1M publish requests, each 64 KB chunk of a message counts as one request. Deliveries extra. */
    perPublish: 0.5 / 1e6,
    chunkBytes: 64 * 1024,
    source: 'https://aws.amazon.com/sns/pricing/ (as quoted by third-party summaries; deliveries to email/HTTP subscribers are billed on top)',
  },
  eventBridge: {
    /** Custom events: $1.00 per 1M, each 64 KB chunk counts as one event. AWS service events (S3 Object Created) are free. */
    perCustomEvent: 1.0 / 1e6,
    chunkBytes: 64 * 1024,
    source: 'https://aws.amazon.com/eventbridge/pricing/ (as quoted by third-party summaries)',
  },
  s3: {
    /** S3 Standard: PUT, COPY, POST, LIST $0.005 per 1,000; GET, SELECT and all other requests $0.0004 per 1,000; DELETE free. */
    putCopyPostList: 0.005 / 1000,
    getAndOther: 0.0004 / 1000,
    source: 'https://aws.amazon.com/s3/pricing/ (as quoted by third-party summaries)',
  },
  sqs: {
    /**
     * Standard queues: $0.40 per 1M requests (first 100 billion a month). Every API action is a request (SendMessage,
     * ReceiveMessage with or without messages, DeleteMessage(Batch), ChangeMessageVisibility), and each 64 KB chunk of a
     * request's payload counts as one request. EventBridge's SendMessage to a rule's queue target and Lambda's event
     * source mapping polls are requests billed to the queue owner.
     */
    perRequest: 0.4 / 1e6,
    chunkBytes: 64 * 1024,
    retrieved: '2026-12-01',
    source: 'https://aws.amazon.com/sqs/pricing/ (as quoted by third-party summaries of that page: $0.40 per million standard '
      + 'requests, 64 KB chunks, empty receives billed); Lambda polls an SQS event source with long polling and keeps at least five '
      + 'concurrent batches when MaximumConcurrency is set: https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html',
  },
  dynamoDb: {
    /**
     * On-demand (PAY_PER_REQUEST) tables, Standard table class: $0.625 per 1M write request units (one standard write of an
     * item up to 1 KB; a failed conditional write still consumes it) and $0.125 per 1M read request units (one strongly
     * consistent read of up to 4 KB; eventually consistent reads take half). Prices after the 2024-11-01 on-demand reduction.
     */
    perWriteRequestUnit: 0.625 / 1e6,
    perReadRequestUnit: 0.125 / 1e6,
    writeUnitBytes: 1024,
    readUnitBytes: 4096,
    retrieved: '2026-12-01',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/ (request unit definitions); rates as quoted by third-party '
      + 'summaries of that page after the November 2024 on-demand price reduction (e.g. airbyte.com, jusdb.com)',
  },
  cloudWatchLogs: {
    /** Ingestion, first tier: $0.50 per GB, for standard logs (Lambda) and vended logs (Step Functions execution logs) alike. */
    perGb: 0.5,
    /**
     * Bytes counted per log event on top of its UTF-8 message: PutLogEvents sizes a batch as "the sum of all event
     * messages in UTF-8, plus 26 bytes for each log event" (API reference). Counted here as ingested bytes too.
     */
    eventOverheadBytes: 26,
    eventOverheadSource: 'https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html',
    source: 'https://aws.amazon.com/cloudwatch/pricing/ (Logs tab, Vended Logs; Step Functions logs are billed at the vended logs '
      + 'rate per https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html); rate as quoted by third-party summaries',
  },
  firehose: {
    /**
     * Amazon Data Firehose, Direct PUT ingestion, first tier: $0.029 per GB, each record rounded up to the next 5 KB
     * ("a 3KB record is billed as 5KB, a 12KB record is billed as 15KB"; counted as 5,120 bytes here, 5,000 would be
     * 2 % less). Delivery to S3 has no Firehose charge without the optional features (format conversion, dynamic
     * partitioning, VPC delivery), which the pipeline does not use; the delivered objects are S3 PUTs.
     */
    perGb: 0.029,
    recordStepBytes: 5 * 1024,
    retrieved: '2026-12-02',
    source: 'https://aws.amazon.com/firehose/pricing/ (5 KB record steps, stored text of the page; the $0.029 per GB first-tier '
      + 'rate as recorded in the design brief, shared/DESIGN.md)',
  },
} as const;
