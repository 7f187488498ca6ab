import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge, ACKNOWLEDGEMENTS } from './compliance/acknowledgements';
import { FunctionLoggingOptions } from './function-logging';

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

/** Application levels that keep EMF records (which Lambda files as INFO). */
const KEEPS_EMF = [lambda.ApplicationLogLevel.TRACE, lambda.ApplicationLogLevel.DEBUG, lambda.ApplicationLogLevel.INFO];

/** The Lambda function props that set the log format and levels. */
export type FunctionLoggingProps = Pick<lambda.FunctionOptions, 'loggingFormat' | 'applicationLogLevelV2' | 'systemLogLevelV2'>;

/** The Lambda function props for the options, defaults applied. */
export function functionLoggingProps(options: FunctionLoggingOptions = {}): FunctionLoggingProps {
  return {
    loggingFormat: lambda.LoggingFormat.JSON,
    applicationLogLevelV2: options.applicationLogLevel ?? lambda.ApplicationLogLevel.INFO,
    systemLogLevelV2: options.systemLogLevel ?? lambda.SystemLogLevel.WARN,
  };
}

/** Problems with the options, for the pipeline's one props error. */
export function validateFunctionLogging(options: FunctionLoggingOptions = {}): string[] {
  const level = options.applicationLogLevel;
  if (level !== undefined && !KEEPS_EMF.includes(level)) {
    return [`functionLogging.applicationLogLevel ${level} would drop the functions' metrics: Lambda files an EMF record (a line without a level) as INFO; use INFO, DEBUG or TRACE`];
  }
  return [];
}
