import { Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { SchoolModerationPipeline } from '../../src';

/** A school's upload moderation: no model of its own (Rekognition), the IT administrator alerted. */
export class SchoolModerationStack extends Stack {
  public readonly pipeline: SchoolModerationPipeline;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.pipeline = new SchoolModerationPipeline(this, 'Uploads', { adminEmails: ['it-admin@school.example'] });
  }
}
