import { Duration } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { Acknowledgement, acknowledge } from './compliance/acknowledgements';

/** An encrypted, TLS-only queue that keeps what could not be delivered for 14 days (the longest SQS allows). */
export function secureDeadLetterQueue(scope: Construct, id: string, key: kms.IKey, acknowledgement: Acknowledgement): sqs.Queue {
  const queue = new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.KMS,
    encryptionMasterKey: key,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  acknowledge(queue, acknowledgement);
  return queue;
}
