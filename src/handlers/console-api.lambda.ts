import * as fs from 'node:fs';
import * as path from 'node:path';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  CopyObjectCommand, DeleteObjectCommand, GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand, ListObjectVersionsCommand, PutObjectCommand,
  PutObjectTaggingCommand, S3Client,
} from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { ConsoleApi, ConsoleEnv, ConsoleSettings } from './console-api';
import { emfSink } from './metrics';
import { RESULT_EVENT_SOURCE } from '../actions';
import { DECIDED, DECIDED_INDEX, PENDING, PENDING_INDEX, ReviewAttribute } from '../review/decisions';

// Created once per execution environment and reused across invocations.
const settings: ConsoleSettings = JSON.parse(process.env[ConsoleEnv.SETTINGS] ?? '{}');
const region = process.env.AWS_REGION ?? 'us-east-1';
const s3 = new S3Client({ forcePathStyle: process.env.ICS_S3_FORCE_PATH_STYLE === 'true' });
const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });
const cloudwatch = new CloudWatchClient({});
const events = new EventBridgeClient({});
// The front end is bundled beside this file (scripts/build-console.ts writes it into the function's asset).
const assetsDir = path.join(__dirname, 'console');
const assets = new Map<string, Buffer>();

const isMissing = (e: any) => ['NoSuchKey', 'NotFound', 'NoSuchVersion'].includes(e?.name) || e?.$metadata?.httpStatusCode === 404;
const conditionFailed = (e: any) => e?.name === 'PreconditionFailed' || e?.name === 'ConditionalRequestConflict'
  || [409, 412].includes(e?.$metadata?.httpStatusCode);

const api = new ConsoleApi({
  region,
  settings,
  cognitoEndpoint: process.env[ConsoleEnv.COGNITO_ENDPOINT] || `https://cognito-idp.${region}.amazonaws.com/`,
  asset: (name) => {
    if (!assets.has(name)) {
      try {
        assets.set(name, fs.readFileSync(path.join(assetsDir, name)));
      } catch {
        return undefined;
      }
    }
    return assets.get(name);
  },
  reviews: {
    async get(reviewId) {
      const key = { [ReviewAttribute.ID]: reviewId };
      return (await ddb.send(new GetCommand({ TableName: settings.reviewTable, Key: key, ConsistentRead: true }))).Item;
    },
    async list(status, limit) {
      const pending = status === PENDING;
      const out = await ddb.send(new QueryCommand({
        TableName: settings.reviewTable,
        IndexName: pending ? PENDING_INDEX : DECIDED_INDEX,
        KeyConditionExpression: '#p = :p',
        ExpressionAttributeNames: { '#p': pending ? ReviewAttribute.PENDING : ReviewAttribute.DECIDED_KEY },
        ExpressionAttributeValues: { ':p': pending ? PENDING : DECIDED },
        ScanIndexForward: pending,
        Limit: limit,
      }));
      return out.Items ?? [];
    },
    async decide(reviewId, fields) {
      const names: Record<string, string> = {
        '#status': ReviewAttribute.STATUS, '#pending': ReviewAttribute.PENDING, '#decided': ReviewAttribute.DECIDED_KEY, '#fx': ReviewAttribute.EFFECTS_PENDING,
      };
      const values: Record<string, unknown> = { ':pending': PENDING, ':decided': DECIDED, ':true': true };
      const sets = ['#status = :decided', '#decided = :decided', '#fx = :true'];
      Object.entries(fields).forEach(([k, v], i) => {
        names[`#f${i}`] = k;
        values[`:f${i}`] = v;
        sets.push(`#f${i} = :f${i}`);
      });
      try {
        await ddb.send(new UpdateCommand({
          TableName: settings.reviewTable,
          Key: { [ReviewAttribute.ID]: reviewId },
          UpdateExpression: `SET ${sets.join(', ')} REMOVE #pending`,
          ConditionExpression: '#status = :pending',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }));
        return true;
      } catch (e: any) {
        if (e?.name === 'ConditionalCheckFailedException') return false;
        throw e;
      }
    },
    async putReleaseMarker(markerId, attrs) {
      await ddb.send(new PutCommand({ TableName: settings.reviewTable, Item: { [ReviewAttribute.ID]: markerId, ...attrs } }));
    },
    async effectsDone(reviewId) {
      await ddb.send(new UpdateCommand({
        TableName: settings.reviewTable,
        Key: { [ReviewAttribute.ID]: reviewId },
        UpdateExpression: 'REMOVE #fx',
        ExpressionAttributeNames: { '#fx': ReviewAttribute.EFFECTS_PENDING },
      }));
    },
  },
  s3: {
    presignGet: (Bucket, Key, VersionId, expiresIn) => getSignedUrl(s3, new GetObjectCommand({ Bucket, Key, VersionId }), { expiresIn }),
    // Content type and length are signed: S3 refuses a body of another length or type.
    presignPut: (Bucket, Key, ContentType, ContentLength, expiresIn) => getSignedUrl(s3, new PutObjectCommand({
      Bucket, Key, ContentType, ContentLength,
    }), {
      expiresIn, signableHeaders: new Set(['content-type', 'content-length']), unhoistableHeaders: new Set(['content-type', 'content-length']),
    }),
    async getTags(Bucket, Key) {
      try {
        const out = await s3.send(new GetObjectTaggingCommand({ Bucket, Key }));
        return { tags: (out.TagSet ?? []).map((t) => ({ Key: t.Key!, Value: t.Value! })), versionId: out.VersionId };
      } catch (e) {
        if (isMissing(e)) return undefined;
        throw e;
      }
    },
    async putTags(Bucket, Key, TagSet) {
      await s3.send(new PutObjectTaggingCommand({ Bucket, Key, Tagging: { TagSet } }));
    },
    async copyWithMetadata(from, to, Metadata, TagSet) {
      const head = await s3.send(new HeadObjectCommand({ Bucket: from.bucket, Key: from.key }));
      const source = `${encodeURIComponent(from.bucket)}/${from.key.split('/').map(encodeURIComponent).join('/')}`;
      const out = await s3.send(new CopyObjectCommand({
        Bucket: to.bucket,
        Key: to.key,
        CopySource: source,
        MetadataDirective: 'REPLACE',
        ContentType: head.ContentType,
        Metadata: { ...head.Metadata, ...Metadata },
        TaggingDirective: 'REPLACE',
        Tagging: new URLSearchParams(TagSet.map((t): [string, string] => [t.Key, t.Value])).toString(),
      }));
      return { versionId: out.VersionId, etag: out.CopyObjectResult?.ETag };
    },
    async lastVersion(Bucket, Key) {
      const out = await s3.send(new ListObjectVersionsCommand({ Bucket, Prefix: Key, MaxKeys: 50 }));
      const newest = (a: { LastModified?: Date }, b: { LastModified?: Date }) => (b.LastModified?.getTime() ?? 0) - (a.LastModified?.getTime() ?? 0);
      const version = (out.Versions ?? []).filter((v) => v.Key === Key).sort(newest)[0];
      if (!version) return undefined;
      return version.VersionId && version.VersionId !== 'null' ? version.VersionId : null;
    },
    async deleteObject(Bucket, Key) {
      await s3.send(new DeleteObjectCommand({ Bucket, Key }));
    },
    async getText(Bucket, Key) {
      try {
        const out = await s3.send(new GetObjectCommand({ Bucket, Key }));
        return { body: await out.Body!.transformToString('utf8'), etag: out.ETag! };
      } catch (e) {
        if (isMissing(e)) return undefined;
        throw e;
      }
    },
    async putTextIf(Bucket, Key, Body, condition) {
      try {
        await s3.send(new PutObjectCommand({
          Bucket, Key, Body, ContentType: 'application/jsonl', ...('ifMatch' in condition ? { IfMatch: condition.ifMatch } : { IfNoneMatch: '*' }),
        }));
        return true;
      } catch (e) {
        if (conditionFailed(e)) return false;
        throw e;
      }
    },
  },
  putEvent: settings.eventBus ? async (detailType, detail) => {
    const out = await events.send(new PutEventsCommand({
      Entries: [{ Source: RESULT_EVENT_SOURCE, DetailType: detailType, Detail: JSON.stringify(detail), EventBusName: settings.eventBus }],
    }));
    if (out.FailedEntryCount) {
      throw Object.assign(new Error(out.Entries?.[0]?.ErrorMessage ?? 'PutEvents failed'), { name: out.Entries?.[0]?.ErrorCode ?? 'PutEventsFailed' });
    }
  } : undefined,
  async metricData(queries, StartTime, EndTime) {
    const out: Record<string, Array<[number, number]>> = {};
    let NextToken: string | undefined;
    do {
      const page = await cloudwatch.send(new GetMetricDataCommand({
        StartTime,
        EndTime,
        NextToken,
        MetricDataQueries: queries.map((q) => ({
          Id: q.id,
          MetricStat: {
            Metric: {
              Namespace: q.namespace,
              MetricName: q.metricName,
              Dimensions: Object.entries(q.dimensions).map(([Name, Value]) => ({ Name, Value })),
            },
            Period: q.period,
            Stat: 'Sum',
          },
        })),
      }));
      for (const r of page.MetricDataResults ?? []) {
        const points = (r.Timestamps ?? []).map((t, i): [number, number] => [Math.floor(t.getTime() / 1000), r.Values?.[i] ?? 0]);
        out[r.Id!] = [...(out[r.Id!] ?? []), ...points];
      }
      NextToken = page.NextToken;
    } while (NextToken);
    return out;
  },
  emf: emfSink(process.env),
  now: () => new Date(),
});

export const handler = (event: APIGatewayProxyEventV2WithJWTAuthorizer) => api.handle(event);
