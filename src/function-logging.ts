import * as lambda from 'aws-cdk-lib/aws-lambda';

/**
 * What the pipeline's functions (classify, dispatch, bulk summarize) send to CloudWatch Logs. They log in Lambda's
 * JSON format, so Lambda filters their lines by level before CloudWatch Logs ingests (and bills) them.
 */
export interface FunctionLoggingOptions {
  /**
   * The least severe line of the functions' own output that is kept. At `INFO` a classified image writes one line:
   * its embedded-format (EMF) metrics record; warnings and errors are kept. `DEBUG` adds one line per image and
   * function ("Image classified", "Upload dispatched"). `WARN` and above are refused: Lambda files a line without a
   * `level` field, as EMF records are, as INFO, so they would drop every metric the functions publish.
   *
   * @default lambda.ApplicationLogLevel.INFO
   */
  readonly applicationLogLevel?: lambda.ApplicationLogLevel;

  /**
   * The least severe line Lambda itself writes that is kept. At `WARN` the per-invocation `platform.start` and
   * `platform.report` records (duration, billed duration, memory) are not written: about 0.4 KiB per image and function.
   * Lambda's own metrics (Duration, Errors, Throttles) do not depend on them. `INFO` keeps them.
   *
   * @default lambda.SystemLogLevel.WARN
   */
  readonly systemLogLevel?: lambda.SystemLogLevel;
}
