// src/local is dev-only tooling (the local runner): its packages are devDependencies on purpose (see .projenrc.ts).
/* eslint-disable import/no-extraneous-dependencies */
import type * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';

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
}

export interface DynamoDBPeerOptions {
  readonly tables: readonly DynamoTableOptions[];
  /** @default a random free port */
  readonly port?: number;
}

export interface DynamoDBPeer {
  /** Endpoint URL for `new DynamoDBClient({ endpoint })`. */
  readonly url: string;
  /** A new client configured for this peer (the caller destroys it). */
  client(): DynamoDBClient;
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
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = (): DynamoDBClient =>
    new DynamoDBClient({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
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
      await own.send(new CreateTableCommand({
        TableName: t.tableName,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: keys,
        AttributeDefinitions: keys.map((k) => ({ AttributeName: k.AttributeName, AttributeType: 'S' as const })),
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
