import { Logger } from '@aws-lambda-powertools/logger';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { PROBE_FIELD } from './circuit-breaker';
import { classify, ClassifyRequest } from './classify';
import { readClassifyConfig } from './config';
import { DEFER_FIELD } from './dispatch';
import { classifiedRecord, emfSink, errorRecord } from './metrics';

// Created once per execution environment and reused across invocations.
const config = readClassifyConfig(process.env);
const logger = new Logger({ serviceName: 'image-classification-pipeline' });
// One EMF record per image in the function's log; CloudWatch turns it into metrics (no PutMetricData permission needed).
const metrics = emfSink(process.env);
const s3 = new S3Client({ forcePathStyle: config.s3ForcePathStyle });
// Step Functions retries transient endpoint errors with backoff; one SDK retry absorbs network blips
// without multiplying the workflow's own attempts.
const sagemaker = new SageMakerRuntimeClient({ region: config.endpointRegion, maxAttempts: 2 });
// Queued ingestion, while the image can still be deferred, and the circuit breaker's probes: one call per attempt. The
// queue tries the image again later, and every extra call to a dead endpoint delays the breaker (and costs a call).
const sagemakerOnce = new SageMakerRuntimeClient({ region: config.endpointRegion, maxAttempts: 1 });

/** Entry point: classify one image and return the compact result (never image bytes). */
export async function handler(request: ClassifyRequest) {
  const input = (request?.input ?? {}) as Record<string, unknown>;
  logger.appendKeys({ executionArn: request?.executionArn, bucket: input.bucket, key: input.key });
  try {
    const once = input[PROBE_FIELD] === true || input[DEFER_FIELD] === true;
    const output = await classify(request, { s3, sagemaker: once ? sagemakerOnce : sagemaker, config });
    const { result } = output;
    // DEBUG: the audit trail records every result; at the default level a classified image writes only its metrics.
    logger.debug('Image classified', {
      label: result.label,
      confidence: result.confidence,
      format: result.format,
      sizeBytes: result.sizeBytes,
      modelLatencyMs: result.modelLatencyMs,
    });
    // With queued ingestion the dispatch function writes a classified image's metrics; this function only its errors.
    if (request.classifiedMetrics !== false) metrics.emit(classifiedRecord(metrics.record(), result));
    return output;
  } catch (err) {
    logger.warn('Image not classified', { errorName: (err as Error).name, errorMessage: (err as Error).message });
    metrics.emit(errorRecord(metrics.record(), err));
    throw err;
  } finally {
    logger.resetKeys();
  }
}
