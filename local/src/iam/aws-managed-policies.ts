import { PolicyDocument } from './model';

/**
 * The AWS managed policies the library's templates attach, pinned: the kit evaluates these documents, not whatever
 * version AWS publishes later. Each is the default version as the IAM console shows it (IAM User Guide, "AWS managed
 * policies"; AWS Managed Policy Reference Guide, `AWSLambdaBasicExecutionRole`, version v1).
 */
export const AWS_MANAGED_POLICIES: Record<string, PolicyDocument> = {
  'service-role/AWSLambdaBasicExecutionRole': {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], Resource: '*' }],
  },
};

/** The pinned document of an AWS managed policy ARN (`arn:<partition>:iam::aws:policy/<path/name>`), if the kit has it. */
export function awsManagedPolicy(arn: string): PolicyDocument | undefined {
  const m = /^arn:[^:]+:iam::aws:policy\/(.+)$/.exec(arn);
  return m ? AWS_MANAGED_POLICIES[m[1]] : undefined;
}
