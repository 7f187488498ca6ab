/* eslint-disable import/no-extraneous-dependencies */
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';

/** Reference design, step 3 of 3: apply the threshold; a confident flagged label is published to SNS. */
const THRESHOLD = Number(process.env.THRESHOLD ?? '0.94');
const LABELS = (process.env.LABELS ?? '').split(',');
const FLAGGED = (process.env.FLAGGED_LABELS ?? '').split(',');
const sns = new SNSClient({});

export interface FilterEvent {
  readonly s3_bucket: string;
  readonly s3_key: string;
  readonly inferences: number[];
}

export async function handler(event: FilterEvent) {
  const confidence = Math.max(...event.inferences);
  const label = LABELS[event.inferences.indexOf(confidence)];
  if (confidence < THRESHOLD) throw new Error('THRESHOLD_CONFIDENCE_NOT_MET');
  if (FLAGGED.includes(label)) {
    await sns.send(new PublishCommand({
      TopicArn: process.env.ALERT_TOPIC_ARN,
      Subject: `Flagged: ${label}`,
      Message: JSON.stringify({ bucket: event.s3_bucket, key: event.s3_key, label, confidence }),
    }));
  }
  return event;
}
