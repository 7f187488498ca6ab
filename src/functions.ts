import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge, ACKNOWLEDGEMENTS } from './compliance/acknowledgements';

/**
 * A role for one of the pipeline's functions that may write only to the function's own log group, instead
 * of the AWS managed basic execution role (logs on every group in the account).
 */
export function functionRole(scope: Construct, id: string, logGroup: logs.ILogGroup): iam.Role {
  const role = new iam.Role(scope, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  logGroup.grantWrite(role);
  return role;
}

/** Function findings that are wrong for this design (see compliance/acknowledgements.ts). */
export function acknowledgeFunction(fn: lambda.Function): void {
  acknowledge(fn, ACKNOWLEDGEMENTS.functionOutsideVpc);
  acknowledge(fn, ACKNOWLEDGEMENTS.functionConcurrency);
  acknowledge(fn, ACKNOWLEDGEMENTS.functionDeadLetterQueue);
}
