import type * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { cacheBody, PeerError, recordPeerError } from './loopback-server';
import { gated, Gateway } from '../gateway/gateway';
import { DYNAMODB_BINDING } from '../gateway/services';

// dynalite ships no types; this is the part used here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite') as (options: { createTableMs: number; deleteTableMs: number; updateTableMs: number }) => http.Server;

export interface DynamoTableOptions {
  readonly tableName: string;
  /** Partition key attribute (type S). */
  readonly partitionKey: string;
  /** Sort key attribute (type S). */
  readonly sortKey?: string;
  /** The table's TTL attribute (epoch seconds), for `expireTtl`. */
  readonly ttlAttribute?: string;
  /** Global secondary indexes (string keys, every attribute projected). */
  readonly globalIndexes?: ReadonlyArray<{ readonly indexName: string; readonly partitionKey: string; readonly sortKey?: string }>;
}

/** The tables of a template (named by logical ID, as the runner resolves their Ref), with their keys, TTL and indexes. */
export function tablesFromTemplate(resources: Record<string, { Type: string; Properties?: any }>): DynamoTableOptions[] {
  const key = (schema: any[], type: string): string | undefined => schema?.find((k) => k.KeyType === type)?.AttributeName;
  return Object.entries(resources).filter(([, r]) => r.Type === 'AWS::DynamoDB::Table').map(([id, r]) => ({
    tableName: id,
    partitionKey: key(r.Properties.KeySchema, 'HASH')!,
    sortKey: key(r.Properties.KeySchema, 'RANGE'),
    ttlAttribute: r.Properties.TimeToLiveSpecification?.AttributeName,
    globalIndexes: (r.Properties.GlobalSecondaryIndexes ?? []).map((g: any) => ({
      indexName: g.IndexName, partitionKey: key(g.KeySchema, 'HASH')!, sortKey: key(g.KeySchema, 'RANGE'),
    })),
  }));
}

export interface DynamoDBPeerOptions {
  readonly tables: readonly DynamoTableOptions[];
  /** The gateway that identifies and authorizes each request (a LocalPipeline's). @default none: every caller is served */
  readonly gateway?: Gateway;
  /** @default a random free port */
  readonly port?: number;
}

export interface DynamoDBPeer {
  /** Endpoint URL for `new DynamoDBClient({ endpoint })`. */
  readonly url: string;
  /** Requests dynalite failed on (answered 500 InternalServerError), in order. */
  readonly errors: PeerError[];
  /** A new client configured for this peer (the caller destroys it). */
  client(credentials?: DynamoDBClientConfig['credentials']): DynamoDBClient;
  /** Every item of the table, unmarshalled. */
  scan(tableName: string): Promise<Record<string, any>[]>;
  /**
   * Deletes the items whose TTL attribute is at or before `nowSeconds`. DynamoDB does this in the background, typically
   * within days, and reads still return expired items until then: nothing expires here unless this is called.
   */
  expireTtl(tableName: string, nowSeconds: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * DynamoDB on loopback: dynalite 4, an in-memory implementation of the DynamoDB API (conditions, expressions and
 * errors such as ConditionalCheckFailedException as DynamoDB answers them). Tables are PAY_PER_REQUEST, created
 * ACTIVE. dynalite does not implement UpdateTimeToLive, hence `expireTtl`.
 */
export async function startDynamoDB(options: DynamoDBPeerOptions): Promise<DynamoDBPeer> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const errors: PeerError[] = [];
  containFailures(server, errors, options.gateway);
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = (credentials?: DynamoDBClientConfig['credentials']): DynamoDBClient => new DynamoDBClient({
    endpoint: url, region: 'us-east-1', credentials: credentials ?? options.gateway?.operatorCredentials ?? { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const own = client();
  const doc = DynamoDBDocumentClient.from(own);
  const tables = new Map(options.tables.map((t) => [t.tableName, t]));

  const scan = async (tableName: string): Promise<Record<string, any>[]> => {
    const items: Record<string, any>[] = [];
    let ExclusiveStartKey: Record<string, any> | undefined;
    do {
      const page = await doc.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey }));
      items.push(...(page.Items ?? []));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return items;
  };

  try {
    for (const t of options.tables) {
      const keys = [{ AttributeName: t.partitionKey, KeyType: 'HASH' as const }, ...t.sortKey ? [{ AttributeName: t.sortKey, KeyType: 'RANGE' as const }] : []];
      const indexes = (t.globalIndexes ?? []).map((g) => ({
        IndexName: g.indexName,
        KeySchema: [{ AttributeName: g.partitionKey, KeyType: 'HASH' as const }, ...g.sortKey ? [{ AttributeName: g.sortKey, KeyType: 'RANGE' as const }] : []],
        Projection: { ProjectionType: 'ALL' as const },
      }));
      const attributes = [...new Set([...keys, ...indexes.flatMap((i) => i.KeySchema)].map((k) => k.AttributeName))];
      await own.send(new CreateTableCommand({
        TableName: t.tableName,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: keys,
        AttributeDefinitions: attributes.map((AttributeName) => ({ AttributeName, AttributeType: 'S' as const })),
        ...(indexes.length > 0 ? { GlobalSecondaryIndexes: indexes } : {}),
      }));
    }
    // With createTableMs 0 dynalite flips CREATING to ACTIVE on its next timer tick; this waits real time, not simulated.
    for (const t of options.tables) {
      while ((await own.send(new DescribeTableCommand({ TableName: t.tableName }))).Table?.TableStatus !== 'ACTIVE') {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
  } catch (err) {
    await closeServer(server);
    own.destroy();
    throw err;
  }

  return {
    url,
    errors,
    client,
    scan,
    async expireTtl(tableName, nowSeconds) {
      const table = tables.get(tableName);
      if (!table?.ttlAttribute) throw new Error(`table ${tableName} has no TTL attribute`);
      let deleted = 0;
      for (const item of await scan(tableName)) {
        const ttl = item[table.ttlAttribute];
        // DynamoDB only expires a Number attribute holding epoch seconds; anything else is ignored.
        if (typeof ttl !== 'number' || ttl > nowSeconds) continue;
        const Key = { [table.partitionKey]: item[table.partitionKey], ...table.sortKey && { [table.sortKey]: item[table.sortKey] } };
        await doc.send(new DeleteCommand({ TableName: tableName, Key }));
        deleted++;
      }
      return deleted;
    },
    async close() {
      own.destroy();
      await closeServer(server);
    },
  };
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    // SDK clients keep sockets alive; without this close() waits for them to idle out.
    server.closeAllConnections();
  });
}

/**
 * dynalite throws from its request's listeners: `req.on('error', err => { throw err })` (a client that drops its
 * connection mid-request) and, from its 'end' listener, any validation error that is not a DynamoDB error. Thrown
 * there, nothing catches them and the process ends. Its listeners are wrapped instead: a request's error is recorded,
 * a throw is that request's InternalServerError (500, which SDKs retry) in DynamoDB's protocol. (What dynalite's
 * store callbacks throw stays out of reach; its store is in memory.)
 */
function containFailures(server: http.Server, errors: PeerError[], gateway?: Gateway): void {
  const listeners = server.listeners('request') as http.RequestListener[];
  server.removeAllListeners('request');
  const serve = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const fail = (err: unknown) => {
      recordPeerError(errors, 'dynamodb', req, err);
      if (res.headersSent || res.destroyed) return void res.destroy();
      res.writeHead(500, { 'Content-Type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: String((err as Error)?.message ?? err) }));
    };
    try {
      listeners.forEach((listener) => listener(req, res));
    } catch (err) {
      return fail(err);
    }
    req.removeAllListeners('error');
    req.on('error', (err) => recordPeerError(errors, 'dynamodb', req, err));
    for (const event of ['data', 'end']) {
      for (const listener of req.listeners(event) as Array<(...args: unknown[]) => void>) {
        req.off(event, listener);
        req.on(event, (...args: unknown[]) => {
          try {
            listener.apply(req, args);
          } catch (err) {
            fail(err);
          }
        });
      }
    }
    // Behind the gateway the body was read already: dynalite gets it as the stream's events.
    const body = gateway ? (req as any)[CACHED_BODY_KEY] as Buffer | undefined : undefined;
    if (body) {
      if (body.length > 0) req.emit('data', body);
      req.emit('end');
    }
  };
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (!gateway) return serve(req, res);
    gated(gateway, DYNAMODB_BINDING, async (r, w) => {
      (r as any)[CACHED_BODY_KEY] = await cacheBody(r, 16 * 1024 * 1024);
      serve(r, w);
    })(req, res)?.catch((err: unknown) => recordPeerError(errors, 'dynamodb', req, err));
  });
}

/** Where the dynamodb peer keeps a body the gateway read, to replay it to dynalite. */
const CACHED_BODY_KEY = Symbol('dynalite body');
