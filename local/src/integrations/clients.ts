import { FirehoseClient } from '@aws-sdk/client-firehose';
import { RekognitionClient } from '@aws-sdk/client-rekognition';
import { SNSClient } from '@aws-sdk/client-sns';
import { PrincipalClients } from './context';
import { Gateway } from '../gateway/gateway';
import { CallPrincipal } from '../iam/model';
import { DynamoDBPeer } from '../peers/dynamodb';
import { FirehosePeer } from '../peers/firehose';
import { RekognitionPeer } from '../peers/rekognition';
import { S3Peer } from '../peers/s3';
import { SnsSink } from '../peers/sns';
import { LOCAL_ACCOUNT } from '../template-resolver';

/** The peers the integrations call. */
export interface IntegrationPeers {
  readonly s3: S3Peer;
  readonly sns: SnsSink;
  readonly rekognition: RekognitionPeer;
  readonly firehose?: FirehosePeer;
  readonly dynamodb?: DynamoDBPeer;
}

/** SDK clients for the peers, signed with each principal's credentials, created once per principal. */
export class PrincipalClientCache {
  private readonly clients = new Map<string, PrincipalClients>();

  constructor(private readonly gateway: Gateway, private readonly peers: IntegrationPeers) {}

  /** The clients signed as `principal`. */
  public for(principal: CallPrincipal): PrincipalClients {
    const key = principal.kind === 'role' ? principal.roleArn : principal.kind;
    const existing = this.clients.get(key);
    if (existing) return existing;
    const credentials = this.gateway.credentialsFor(principal);
    const region = LOCAL_ACCOUNT.region;
    const { s3, sns, rekognition, firehose, dynamodb } = this.peers;
    const clients: PrincipalClients = {
      s3: s3.client({ credentials }),
      sns: new SNSClient({ endpoint: sns.url, region, credentials }),
      rekognition: new RekognitionClient({ endpoint: rekognition.url, region, credentials, maxAttempts: 1 }),
      firehose: firehose && new FirehoseClient({ endpoint: firehose.url, region, credentials, maxAttempts: 1 }),
      dynamodb: dynamodb?.client(credentials),
    };
    this.clients.set(key, clients);
    return clients;
  }

  public destroy(): void {
    for (const c of this.clients.values()) for (const client of Object.values(c)) client?.destroy();
  }
}
