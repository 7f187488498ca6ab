import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { DECIDED_INDEX, PENDING_INDEX, ReviewAttribute } from './decisions';
import { acknowledge, ACKNOWLEDGEMENTS } from '../compliance/acknowledgements';

/**
 * The review items (one per image version under review): on-demand, encrypted with the pipeline's key, point-in-time
 * recovery, deletion protection, retained; two sparse indexes list pending reviews oldest first and decided ones
 * newest first.
 */
export function reviewTable(scope: Construct, id: string, encryptionKey: kms.IKey): dynamodb.Table {
  const table = new dynamodb.Table(scope, id, {
    partitionKey: { name: ReviewAttribute.ID, type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    // Release markers expire; review items have no expiry.
    timeToLiveAttribute: ReviewAttribute.EXPIRES_AT,
    encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
    encryptionKey,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    deletionProtection: true,
    // Human decisions are records: kept when the stack goes.
    removalPolicy: RemovalPolicy.RETAIN,
  });
  table.addGlobalSecondaryIndex({
    indexName: PENDING_INDEX,
    partitionKey: { name: ReviewAttribute.PENDING, type: dynamodb.AttributeType.STRING },
    sortKey: { name: ReviewAttribute.CREATED_AT, type: dynamodb.AttributeType.STRING },
  });
  table.addGlobalSecondaryIndex({
    indexName: DECIDED_INDEX,
    partitionKey: { name: ReviewAttribute.DECIDED_KEY, type: dynamodb.AttributeType.STRING },
    sortKey: { name: ReviewAttribute.DECIDED_AT, type: dynamodb.AttributeType.STRING },
  });
  acknowledge(table, ACKNOWLEDGEMENTS.reviewTableBackup);
  return table;
}
