import type * as http from 'node:http';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { REKOGNITION_IMAGE_LIMITS, ResponseFormat } from 'cdk-image-classification-pipeline';
import { isComplete, sniffImageFormat } from 'cdk-image-classification-pipeline/lib/handlers/image-format';
import { parseModelScores } from 'cdk-image-classification-pipeline/lib/handlers/model-response';
import { readBody, startLoopbackServer } from './loopback-server';
import { gated, Gateway } from '../gateway/gateway';
import { REKOGNITION_BINDING } from '../gateway/services';
import { ModelBackend } from '../models/model-backend';

/** A local model standing in for one Rekognition operation: its scores (any response format) by these labels. */
export interface RekognitionModel {
  readonly model: ModelBackend;
  /** The model's labels in score order; for moderation, top-level category names (`Explicit`, `Violence`, ...). */
  readonly labels: string[];
}

export interface RekognitionPeerOptions {
  /** The gateway that identifies and authorizes each request (a LocalPipeline's). @default none: every caller is served */
  readonly gateway?: Gateway;
  /** Reads the images, as Rekognition reads S3 objects. */
  readonly s3: S3Client;
  readonly detectLabels?: RekognitionModel;
  readonly detectModerationLabels?: RekognitionModel;
}

/** Errors `failNext` can inject, answered as Rekognition does (HTTP 400 or 500). */
export type RekognitionFault = 'ThrottlingException' | 'ProvisionedThroughputExceededException' | 'InternalServerError' | 'AccessDeniedException';

export interface RekognitionPeer {
  readonly url: string;
  /** Requests answered: operation, object and the error type when one was returned. */
  readonly requests: Array<{ operation: string; bucket?: string; key?: string; errorType?: string }>;
  /** The next `count` requests fail with `fault`. */
  failNext(count: number, fault: RekognitionFault): void;
  close(): Promise<void>;
}

class RekognitionError extends Error {
  constructor(readonly type: string, message: string, readonly status = 400) {
    super(message);
  }
}

/**
 * DetectLabels and DetectModerationLabels on loopback, speaking awsJson1_1 (`X-Amz-Target:
 * RekognitionService.<Operation>`) so `@aws-sdk/client-rekognition` works against it unchanged. It reads the
 * image from S3 and enforces Rekognition's documented limits (JPEG or PNG, 15 MB) with Rekognition's error
 * types; the 80-pixel minimum is documented by AWS without an error type, so it is not enforced here.
 */
export async function startRekognition(options: RekognitionPeerOptions): Promise<RekognitionPeer> {
  const requests: RekognitionPeer['requests'] = [];
  const faults: RekognitionFault[] = [];

  const detect = async (operation: string, request: any): Promise<object> => {
    const model = operation === 'DetectLabels' ? options.detectLabels : options.detectModerationLabels;
    if (operation !== 'DetectLabels' && operation !== 'DetectModerationLabels') {
      throw new RekognitionError('UnknownOperationException', `The local Rekognition peer does not implement ${operation}`);
    }
    const s3Object = request?.Image?.S3Object;
    if (!s3Object?.Bucket || !s3Object?.Name) throw new RekognitionError('InvalidParameterException', 'Request has invalid parameters');
    const fault = faults.shift();
    if (fault) throw new RekognitionError(fault, `${fault} (injected)`, fault === 'InternalServerError' ? 500 : 400);
    if (!model) throw new RekognitionError('AccessDeniedException', `No local model is configured for ${operation}`);
    const minConfidence = typeof request.MinConfidence === 'number' ? request.MinConfidence : operation === 'DetectLabels' ? 55 : 50;

    let bytes: Uint8Array;
    try {
      const res = await options.s3.send(new GetObjectCommand({ Bucket: s3Object.Bucket, Key: s3Object.Name, VersionId: s3Object.Version }));
      if ((res.ContentLength ?? 0) > REKOGNITION_IMAGE_LIMITS.maxBytes) {
        (res.Body as any)?.destroy?.();
        throw new RekognitionError('ImageTooLargeException', 'Image size is too large.');
      }
      bytes = res.Body ? await res.Body.transformToByteArray() : new Uint8Array();
    } catch (e) {
      if (e instanceof RekognitionError) throw e;
      throw new RekognitionError('InvalidS3ObjectException', 'Unable to get object metadata from S3. Check object key, region and/or access permissions.');
    }
    const format = sniffImageFormat(bytes);
    if (!format || !REKOGNITION_IMAGE_LIMITS.formats.includes(format.format) || !isComplete(format.format, bytes)) {
      throw new RekognitionError('InvalidImageFormatException', 'Request has invalid image format');
    }

    let scores: number[];
    try {
      const out = await model.model.invoke(Buffer.from(bytes), format.contentType);
      scores = parseModelScores(String(out.body), ResponseFormat.AUTO, model.labels);
    } catch (e: any) {
      throw new RekognitionError('InternalServerError', `The local model failed: ${e?.message ?? e}`, 500);
    }
    const include: string[] | undefined = request.Settings?.GeneralLabels?.LabelInclusionFilters;
    const found = model.labels
      .map((name, i) => ({ name, confidence: Math.min(100, Math.max(0, scores[i] * 100)) }))
      .filter((l) => l.confidence >= minConfidence && (!include || include.includes(l.name)))
      .sort((a, b) => b.confidence - a.confidence);
    if (operation === 'DetectLabels') {
      const max = typeof request.MaxLabels === 'number' ? request.MaxLabels : found.length;
      return {
        Labels: found.slice(0, max).map((l) => ({ Name: l.name, Confidence: l.confidence, Instances: [], Parents: [], Aliases: [], Categories: [] })),
        LabelModelVersion: '3.0',
      };
    }
    return {
      ModerationLabels: found.map((l) => ({ Name: l.name, Confidence: l.confidence, ParentName: '', TaxonomyLevel: 1 })),
      ModerationModelVersion: '7.0',
    };
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith('RekognitionService.') ? target.slice('RekognitionService.'.length) : target;
    let request: any;
    try {
      request = JSON.parse((await readBody(req, 1024 * 1024)).toString('utf8') || '{}');
    } catch {
      return send(res, 400, { __type: 'SerializationException', message: 'Request body is not JSON' });
    }
    const entry: RekognitionPeer['requests'][number] = { operation, bucket: request?.Image?.S3Object?.Bucket, key: request?.Image?.S3Object?.Name };
    requests.push(entry);
    try {
      send(res, 200, await detect(operation, request));
    } catch (e: any) {
      // Anything else is a failure of the peer: answered InternalServerError (500) and recorded by the server.
      entry.errorType = e instanceof RekognitionError ? e.type : 'InternalServerError';
      if (!(e instanceof RekognitionError)) throw e;
      send(res, e.status, { __type: e.type, Message: e.message }, e.type);
    }
  };

  const server = await startLoopbackServer(gated(options.gateway, REKOGNITION_BINDING, handle), 0, (res, err) => {
    send(res, 500, { __type: 'InternalServerError', Message: String((err as Error)?.message ?? err) }, 'InternalServerError');
  }, 'rekognition');
  return {
    url: server.url,
    requests,
    failNext(count, fault) {
      for (let i = 0; i < count; i++) faults.push(fault);
    },
    async close() {
      await server.close();
      await Promise.all([options.detectLabels?.model.close?.(), options.detectModerationLabels?.model.close?.()]);
    },
  };
}

function send(res: http.ServerResponse, status: number, body: object, errorType?: string) {
  res.writeHead(status, { 'Content-Type': 'application/x-amz-json-1.1', ...(errorType ? { 'x-amzn-ErrorType': errorType } : {}) });
  res.end(JSON.stringify(body));
}
