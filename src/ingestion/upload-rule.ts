import * as events from 'aws-cdk-lib/aws-events';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { keyFilterPattern } from '../workflow/key-filter';

/** The EventBridge rule that matches the uploads to classify: S3 "Object Created" in the bucket, under the prefix, with the suffixes. */
export function uploadRule(scope: Construct, id: string, bucket: s3.IBucket, inputPrefix: string | undefined, inputSuffixes: string[]): events.Rule {
  const keyFilter = keyFilterPattern(inputPrefix, inputSuffixes);
  return new events.Rule(scope, id, {
    description: 'Sends each image uploaded to the bucket to classification',
    eventPattern: {
      source: ['aws.s3'],
      detailType: ['Object Created'],
      detail: {
        bucket: { name: [bucket.bucketName] },
        ...(keyFilter ? { object: { key: keyFilter } } : {}),
      },
    },
  });
}
