import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { acknowledge, ACKNOWLEDGEMENTS } from '../compliance/acknowledgements';

/** Attribute names of Powertools' DynamoDB persistence layer (its defaults, which the dispatch function uses). */
export const IDEMPOTENCY_KEY_ATTRIBUTE = 'id';
export const IDEMPOTENCY_TTL_ATTRIBUTE = 'expiration';

/**
 * The dispatch function's idempotency records (one per upload, Powertools for AWS Lambda): on-demand, expiring by
 * TTL after the idempotency window, encrypted with the pipeline's key, point-in-time recovery on.
 */
export function idempotencyTable(scope: Construct, id: string, encryptionKey: kms.IKey): dynamodb.Table {
  const table = new dynamodb.Table(scope, id, {
    partitionKey: { name: IDEMPOTENCY_KEY_ATTRIBUTE, type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    timeToLiveAttribute: IDEMPOTENCY_TTL_ATTRIBUTE,
    encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
    encryptionKey,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    // Records only deduplicate deliveries for a day: nothing to keep once the pipeline is gone.
    removalPolicy: RemovalPolicy.DESTROY,
  });
  acknowledge(table, ACKNOWLEDGEMENTS.idempotencyTableBackup);
  return table;
}
