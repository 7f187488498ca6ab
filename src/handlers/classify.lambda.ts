import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { classify, ClassifyRequest } from './classify';
import { readClassifyConfig } from './config';
import { metricsOptions, publishClassified, publishError, setPipelineDimension } from './metrics';

// Created once per execution environment and reused across invocations.
const config = readClassifyConfig(process.env);
const logger = new Logger({ serviceName: 'image-classification-pipeline' });
// EMF records in the function's log; CloudWatch turns them into metrics (no PutMetricData permission needed).
const metrics = setPipelineDimension(new Metrics(metricsOptions(process.env)), process.env);
const s3 = new S3Client({ forcePathStyle: config.s3ForcePathStyle });
// Step Functions retries transient endpoint errors with backoff; one SDK retry absorbs network blips
// without multiplying the workflow's own attempts.
const sagemaker = new SageMakerRuntimeClient({ region: config.endpointRegion, maxAttempts: 2 });

/** Entry point: classify one image and return the compact result (never image bytes). */
export async function handler(request: ClassifyRequest) {
  const input = (request?.input ?? {}) as Record<string, unknown>;
  logger.appendKeys({ executionArn: request?.executionArn, bucket: input.bucket, key: input.key });
  try {
    const output = await classify(request, { s3, sagemaker, config });
    const { result } = output;
    logger.info('Image classified', {
      label: result.label,
      confidence: result.confidence,
      format: result.format,
      sizeBytes: result.sizeBytes,
      modelLatencyMs: result.modelLatencyMs,
    });
    publishClassified(metrics, result);
    return output;
  } catch (err) {
    logger.warn('Image not classified', { errorName: (err as Error).name, errorMessage: (err as Error).message });
    publishError(metrics, err);
    throw err;
  } finally {
    logger.resetKeys();
  }
}
