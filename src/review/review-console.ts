import { Aws, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { ConsoleGroup, ConsoleRoute, PUBLIC_ROUTES } from './console-api';
import { DECIDED_INDEX, PENDING_INDEX } from './decisions';
import { ConsoleOptions } from './review-options';
import { acknowledge, ACKNOWLEDGEMENTS } from '../compliance/acknowledgements';
import { FunctionLoggingOptions } from '../function-logging';
import { acknowledgeFunction, functionLoggingProps, functionRole } from '../functions';
import { ConsoleEnv, ConsoleSettings } from '../handlers/console-api';
import { ConsoleApiFunction } from '../handlers/console-api-function';
import { MetricsEnv } from '../handlers/metrics';
import { ReviewMetric } from '../handlers/review-metrics';
import { ReviewMetricsFunction } from '../handlers/review-metrics-function';

/** What the console needs of the pipeline. */
export interface ReviewConsoleProps {
  readonly options: ConsoleOptions;
  readonly title: string;
  readonly table: dynamodb.ITable;
  readonly classLabels: string[];
  readonly reviewOutcomes: string[];
  readonly bucket: s3.IBucket;
  /** The pipeline created the bucket: the console may add the CORS rule uploads need. */
  readonly ownBucket: boolean;
  readonly inputPrefix: string;
  readonly inputSuffixes: string[];
  readonly maxUploadBytes: number;
  /** The formats uploads may have (those the classifier reads). @default every format the classify function recognizes */
  readonly uploadFormats?: string[];
  readonly quarantine?: { readonly bucket: s3.IBucket; readonly prefix: string };
  readonly feedback: { readonly bucket: s3.IBucket; readonly prefix: string };
  readonly eventBus?: events.IEventBus;
  readonly metrics: ConsoleSettings['metrics'];
  readonly key: kms.IKey;
  readonly logGroupProps: logs.LogGroupProps;
  readonly functionLogging?: FunctionLoggingOptions;
  /** `review.reviewersGroupName`. */
  readonly reviewersGroupName?: string;
}

/**
 * The operator console: a Cognito user pool (created or yours) with the `reviewers` and `viewers` groups, an HTTP API
 * whose `/api/` routes need the pool's JWT, and one function that serves the page (built into its asset at this
 * library's build time) and the API.
 */
export class ReviewConsole extends Construct {
  public readonly userPool: cognito.IUserPool;
  public readonly userPoolClient: cognito.UserPoolClient;
  public readonly api: apigwv2.HttpApi;
  public readonly apiFunction: lambda.Function;
  /** The console's address: the HTTP API's default endpoint. */
  public readonly url: string;

  constructor(scope: Construct, id: string, props: ReviewConsoleProps) {
    super(scope, id);
    const o = props.options;
    this.userPool = o.userPool ?? this.createUserPool();
    this.userPoolClient = this.userPool.addClient('Client', {
      authFlows: { userPassword: true, userSrp: true },
      generateSecret: false,
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.hours(12),
      // The console signs in with InitiateAuth; no hosted UI, no OAuth flows or callback URLs.
      disableOAuth: true,
    });
    const groups = { reviewers: props.reviewersGroupName ?? ConsoleGroup.REVIEWERS, viewers: o.viewersGroupName ?? ConsoleGroup.VIEWERS };
    if (o.createGroups ?? true) {
      for (const [groupId, name, description] of [
        ['ReviewersGroup', groups.reviewers, 'Decide reviews and upload images in the image classification console'],
        ['ViewersGroup', groups.viewers, 'See the image classification console (read only)'],
      ]) {
        new cognito.CfnUserPoolGroup(this, groupId, { userPoolId: this.userPool.userPoolId, groupName: name, description });
      }
    }

    const logGroup = new logs.LogGroup(this, 'ApiFunctionLogGroup', props.logGroupProps);
    const uploads = o.uploads ?? props.ownBucket;
    const settings: ConsoleSettings = {
      title: props.title,
      userPoolId: this.userPool.userPoolId,
      userPoolClientId: this.userPoolClient.userPoolClientId,
      reviewTable: props.table.tableName,
      classLabels: props.classLabels,
      reviewOutcomes: props.reviewOutcomes,
      bucket: props.bucket.bucketName,
      inputPrefix: props.inputPrefix,
      inputSuffixes: props.inputSuffixes,
      uploads,
      maxUploadBytes: props.maxUploadBytes,
      ...(props.uploadFormats ? { uploadFormats: props.uploadFormats } : {}),
      ...(props.quarantine ? { quarantine: { bucket: props.quarantine.bucket.bucketName, prefix: props.quarantine.prefix } } : {}),
      feedback: { bucket: props.feedback.bucket.bucketName, prefix: props.feedback.prefix },
      ...(props.eventBus ? { eventBus: props.eventBus.eventBusName } : {}),
      metrics: props.metrics,
      jobName: `ics-review/${props.title}`,
      groups,
    };
    this.apiFunction = new ConsoleApiFunction(this, 'ApiFunction', {
      description: 'Serves the image classification console and its API (cdk-image-classification-pipeline)',
      architecture: lambda.Architecture.ARM_64,
      memorySize: 512,
      timeout: Duration.seconds(15),
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      ...functionLoggingProps(props.functionLogging),
      role: functionRole(this, 'ApiFunctionServiceRole', logGroup),
      environmentEncryption: props.key,
      environment: {
        [ConsoleEnv.SETTINGS]: Stack.of(this).toJsonString(settings),
        [MetricsEnv.NAMESPACE]: props.metrics.namespace,
        [MetricsEnv.PIPELINE]: props.metrics.pipeline,
      },
    });
    acknowledgeFunction(this.apiFunction);
    this.grantApi(this.apiFunction, props, uploads);

    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', props.logGroupProps);
    this.api = new apigwv2.HttpApi(this, 'Api', {
      description: `Image classification console (${props.title})`,
      createDefaultStage: false,
      ...(o.allowedOrigins && o.allowedOrigins.length > 0 ? {
        corsPreflight: {
          allowOrigins: o.allowedOrigins,
          allowMethods: [apigwv2.CorsHttpMethod.GET, apigwv2.CorsHttpMethod.POST],
          allowHeaders: ['authorization', 'content-type'],
          maxAge: Duration.minutes(10),
        },
      } : {}),
    });
    this.api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: 50, burstLimit: 100 },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        // JSON lines with HTTP API's own context variables (who, which route, what status, why an authorizer refused).
        format: apigw.AccessLogFormat.custom(JSON.stringify({
          requestId: '$context.requestId',
          ip: '$context.identity.sourceIp',
          requestTime: '$context.requestTime',
          method: '$context.httpMethod',
          routeKey: '$context.routeKey',
          status: '$context.status',
          protocol: '$context.protocol',
          responseLength: '$context.responseLength',
          user: '$context.authorizer.claims.sub',
          authorizerError: '$context.authorizer.error',
          integrationError: '$context.integrationErrorMessage',
        })),
      },
    });
    const authorizer = new HttpJwtAuthorizer('CognitoAuthorizer', `https://cognito-idp.${Aws.REGION}.${Aws.URL_SUFFIX}/${this.userPool.userPoolId}`, {
      jwtAudience: [this.userPoolClient.userPoolClientId],
    });
    const integration = new HttpLambdaIntegration('ApiIntegration', this.apiFunction, { payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0 });
    for (const routeKey of Object.values(ConsoleRoute)) {
      const [method, path] = routeKey.split(' ');
      const isPublic = PUBLIC_ROUTES.includes(routeKey);
      const [route] = this.api.addRoutes({
        path,
        methods: [method as apigwv2.HttpMethod],
        integration,
        ...(isPublic ? {} : { authorizer }),
      });
      if (isPublic) acknowledge(route, ACKNOWLEDGEMENTS.consolePublicRoutes);
    }
    this.url = this.api.apiEndpoint;

    // Uploads PUT straight to S3 from the console's page: the pipeline's own bucket allows its origin (and only that).
    if (uploads && props.ownBucket && props.bucket instanceof s3.Bucket) {
      props.bucket.addCorsRule({
        allowedMethods: [s3.HttpMethods.PUT, s3.HttpMethods.GET],
        allowedOrigins: [this.api.apiEndpoint],
        allowedHeaders: ['content-type'],
        exposedHeaders: ['x-amz-version-id', 'etag'],
        maxAge: 600,
      });
    }
  }

  private createUserPool(): cognito.UserPool {
    const pool = new cognito.UserPool(this, 'UserPool', {
      selfSignUpEnabled: false,
      signInAliases: { username: true, email: true },
      signInCaseSensitive: false,
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      mfa: cognito.Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(pool, ACKNOWLEDGEMENTS.userPoolMfa);
    acknowledge(pool, ACKNOWLEDGEMENTS.userPoolThreatProtection);
    return pool;
  }

  /** Exactly what the API does: read and decide review items, read, tag and release images, append the manifest, read the chart. */
  private grantApi(fn: lambda.Function, props: ReviewConsoleProps, uploads: boolean) {
    const objects = (bucket: s3.IBucket, prefix: string) => bucket.arnForObjects(`${prefix}*`);
    const add = (actions: string[], resources: string[]) => fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources }));
    // PutItem: the release marker a release writes once its copy of the image is back (bound to that copy).
    add(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], [props.table.tableArn]);
    add(['dynamodb:Query'], [PENDING_INDEX, DECIDED_INDEX].map((i) => `${props.table.tableArn}/index/${i}`));
    const images = [objects(props.bucket, props.inputPrefix)];
    add(['s3:GetObject', 's3:GetObjectVersion', 's3:GetObjectTagging', 's3:GetObjectVersionTagging', 's3:PutObjectTagging'], images);
    if (uploads || props.quarantine) add(['s3:PutObject'], images);
    if (props.quarantine) {
      add(['s3:GetObject', 's3:GetObjectTagging', 's3:PutObjectTagging', 's3:DeleteObject'], [objects(props.quarantine.bucket, props.quarantine.prefix)]);
    }
    add(['s3:GetObject', 's3:PutObject'], [objects(props.feedback.bucket, props.feedback.prefix)]);
    // Without ListBucket S3 answers 403 for a key that does not exist; with it, 404: the API tells "not there yet" (an
    // upload's status, a release whose copy is done) from a refusal, as the classify function does.
    add(['s3:ListBucket'], [...new Set([props.bucket.bucketArn, props.feedback.bucket.bucketArn, ...(props.quarantine ? [props.quarantine.bucket.bucketArn] : [])])]);
    // A quarantined upload's status: the review is keyed by the original version, under the delete marker the move left.
    if (props.quarantine) add(['s3:ListBucketVersions'], [props.bucket.bucketArn]);
    // Presigned uploads are signed with this role: S3 encrypts them (GenerateDataKey) and reads images (Decrypt) as it.
    props.key.grant(fn, 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey');
    // A bucket you bring with its own key: S3 asks that key with this role's credentials as well.
    const bucketKeys = new Set([props.bucket, props.quarantine?.bucket, props.feedback.bucket].map((b) => b?.encryptionKey));
    for (const other of bucketKeys) if (other && other !== props.key) other.grant(fn, 'kms:Decrypt', 'kms:GenerateDataKey');
    props.eventBus?.grantPutEventsTo(fn);
    add(['cloudwatch:GetMetricData'], ['*']);
  }
}

/** The scheduled measurement of pending reviews and the alarm on the oldest one. */
export function pendingReviewMonitoring(scope: Construct, props: {
  readonly table: dynamodb.ITable;
  readonly key: kms.IKey;
  readonly logGroupProps: logs.LogGroupProps;
  readonly functionLogging?: FunctionLoggingOptions;
  readonly metrics: { readonly namespace: string; readonly pipeline: string };
  readonly maxPendingAge: Duration;
  /** Where the alarm notifies (`monitoring.alarmTopic`). */
  readonly alarmTopic?: sns.ITopic;
  /** Create the alarm (`monitoring.alarms`). */
  readonly alarm: boolean;
}): { fn: lambda.Function; alarm?: cloudwatch.Alarm; metricPending: cloudwatch.Metric; metricOldestAge: cloudwatch.Metric } {
  const logGroup = new logs.LogGroup(scope, 'ReviewMetricsFunctionLogGroup', props.logGroupProps);
  const fn = new ReviewMetricsFunction(scope, 'ReviewMetricsFunction', {
    description: 'Measures pending reviews every 5 minutes (cdk-image-classification-pipeline)',
    architecture: lambda.Architecture.ARM_64,
    memorySize: 128,
    timeout: Duration.seconds(30),
    tracing: lambda.Tracing.ACTIVE,
    logGroup,
    ...functionLoggingProps(props.functionLogging),
    role: functionRole(scope, 'ReviewMetricsFunctionServiceRole', logGroup),
    environmentEncryption: props.key,
    environment: {
      ICS_REVIEW_TABLE: props.table.tableName,
      [MetricsEnv.NAMESPACE]: props.metrics.namespace,
      [MetricsEnv.PIPELINE]: props.metrics.pipeline,
    },
  });
  acknowledgeFunction(fn);
  fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${props.table.tableArn}/index/${PENDING_INDEX}`] }));
  props.key.grantDecrypt(fn);
  const schedule = new events.Rule(scope, 'ReviewMetricsSchedule', {
    description: 'Measures pending reviews (cdk-image-classification-pipeline)',
    schedule: events.Schedule.rate(Duration.minutes(5)),
    targets: [new targets.LambdaFunction(fn, { retryAttempts: 2 })],
  });
  acknowledge(schedule, ACKNOWLEDGEMENTS.reviewMetricsSchedule);
  const metric = (metricName: string, statistic: string) => new cloudwatch.Metric({
    namespace: props.metrics.namespace, metricName, dimensionsMap: { Pipeline: props.metrics.pipeline }, statistic, period: Duration.minutes(5),
  });
  const metricPending = metric(ReviewMetric.PENDING, 'Maximum');
  const metricOldestAge = metric(ReviewMetric.OLDEST_PENDING_AGE, 'Maximum');
  if (!props.alarm) return { fn, metricPending, metricOldestAge };
  const alarm = metricOldestAge.createAlarm(scope, 'OldestPendingReviewAlarm', {
    alarmDescription: `A review has waited more than ${props.maxPendingAge.toHumanString()} for a decision`,
    threshold: props.maxPendingAge.toSeconds(),
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  if (props.alarmTopic) {
    alarm.addAlarmAction(new cwActions.SnsAction(props.alarmTopic));
    alarm.addOkAction(new cwActions.SnsAction(props.alarmTopic));
  } else {
    acknowledge(alarm, ACKNOWLEDGEMENTS.alarmsWithoutTopic);
  }
  return { fn, alarm, metricPending, metricOldestAge };
}
