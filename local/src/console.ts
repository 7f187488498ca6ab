import { ConsoleGroup } from 'cdk-image-classification-pipeline/lib/review/console-api';
import { CloudWatchPeer, startCloudWatch } from './peers/cloudwatch';
import { CognitoPeer, CognitoUserSeed, startCognito } from './peers/cognito';
import { EventBridgePeer, startEventBridge } from './peers/eventbridge';
import { HttpApiPeer, startHttpApi } from './peers/http-api';
import { LocalPipeline, LocalPipelineOptions } from './runner';
import { CfnTemplate, resolveIntrinsics } from './template-resolver';

export interface LocalConsoleOptions extends LocalPipelineOptions {
  /**
   * Users of the local sign-in (the stand-in for the Cognito user pool), each with its groups (`reviewers`,
   * `viewers`); a `temporaryPassword` makes the user choose a new password at first sign-in, as with an
   * admin-created Cognito user.
   * @default one reviewer, `reviewer` / `Reviewer-pass-1`
   */
  readonly users?: readonly CognitoUserSeed[];
  /** Port of the console (its HTTP API). @default a random free port */
  readonly port?: number;
}

/** The default local user: a reviewer. */
export const LOCAL_REVIEWER: CognitoUserSeed = { username: 'reviewer', password: 'Reviewer-pass-1', groups: [ConsoleGroup.REVIEWERS] };

/**
 * The operator console on this machine: the template's HTTP API (routes, JWT authorizer) served on loopback, its
 * function (the page and the API) run by the runner against the local peers, a local sign-in that stands in for the
 * Cognito user pool (Cognito's protocol and token format, not Cognito), and CloudWatch metrics summed from the EMF
 * lines the pipeline's functions write. The pipeline itself runs as `LocalPipeline` does (`pipeline`).
 */
export class LocalConsole {
  public static async start(options: LocalConsoleOptions): Promise<LocalConsole> {
    const template = options.template as CfnTemplate;
    const ids = consoleIds(template);
    // Browser uploads and releases reach the pipeline as S3 notifies them; the functions' EMF lines feed the chart
    // (no function runs before the console's peers below are up).
    let cloudwatch: CloudWatchPeer | undefined;
    const pipeline = await LocalPipeline.start({
      ...options,
      s3EventNotifications: true,
      metricsSink: (line, at) => void cloudwatch?.ingestEmf(line, at),
    });
    // The console's peers answer behind the pipeline's gateway, as every peer does.
    const gateway = pipeline.gateway;
    cloudwatch = await startCloudWatch({ gateway });
    const groups = consoleGroups(template);
    const cognito = await startCognito({
      // The IDs the template resolves to here, so the function's settings (config.json) name this pool and client.
      userPoolId: resolveIntrinsics({ Ref: ids.userPool }, template),
      clientId: resolveIntrinsics({ Ref: ids.userPoolClient }, template),
      groups: [groups.reviewers, groups.viewers],
      users: options.users ?? [{ ...LOCAL_REVIEWER, groups: [groups.reviewers] }],
      gateway,
    });
    const events = await startEventBridge((e) => pipeline.events.push(e), gateway);
    const env = {
      ICS_COGNITO_ENDPOINT: `${cognito.url}/`,
      AWS_ENDPOINT_URL_CLOUDWATCH: cloudwatch.url,
      AWS_ENDPOINT_URL_EVENTBRIDGE: events.url,
    };
    const api = await startHttpApi({
      template,
      port: options.port,
      invoke: (functionId, event) => pipeline.invokeFunction(functionId, event, env),
      issuerFor: () => cognito.issuer,
    });
    // The created bucket lets the console's origin PUT uploads (the template's CORS rule names the API's endpoint).
    await pipeline.allowOrigin(api.url);
    return new LocalConsole(pipeline, api, cognito, cloudwatch, events, ids.reviewMetricsFunction);
  }

  private constructor(
    /** The pipeline the console looks at: upload, run executions, read its peers. */
    public readonly pipeline: LocalPipeline,
    public readonly api: HttpApiPeer,
    /** The local sign-in: add users with `cognito.createUser(...)`. */
    public readonly cognito: CognitoPeer,
    public readonly cloudwatch: CloudWatchPeer,
    private readonly events: EventBridgePeer,
    private readonly reviewMetricsFunction?: string,
  ) {}

  /** The console's address (open it in a browser). */
  public get url(): string {
    return `${this.api.url}/`;
  }

  /** Runs the pending-review measurement now (on AWS an EventBridge schedule runs it every 5 minutes). */
  public async measurePendingReviews(): Promise<unknown> {
    if (!this.reviewMetricsFunction) throw new Error('The template has no review metrics function');
    return this.pipeline.invokeFunction(this.reviewMetricsFunction, {});
  }

  public async close(): Promise<void> {
    await Promise.all([this.api.close(), this.cognito.close(), this.events.close()]);
    await this.pipeline.close();
    await this.cloudwatch.close();
  }
}

/** The reviewers and viewers groups the console's function was configured with. */
function consoleGroups(template: CfnTemplate): { reviewers: string; viewers: string } {
  const fn = Object.values<any>(template.Resources).find((r) => r.Type === 'AWS::Lambda::Function' && r.Properties?.Environment?.Variables?.ICS_CONSOLE_SETTINGS);
  const settings = fn && JSON.parse(resolveIntrinsics(fn.Properties.Environment.Variables.ICS_CONSOLE_SETTINGS, template));
  return settings?.groups ?? { reviewers: ConsoleGroup.REVIEWERS, viewers: ConsoleGroup.VIEWERS };
}

/** The console's resources in a template: its user pool, app client and the review metrics function. */
function consoleIds(template: CfnTemplate): { userPool: string; userPoolClient: string; reviewMetricsFunction?: string } {
  const of = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type).map(([id]) => id);
  const apis = of('AWS::ApiGatewayV2::Api');
  const clients = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Cognito::UserPoolClient');
  if (apis.length === 0 || clients.length === 0) {
    throw new Error('The template has no console: set `console` (with `review`) on the pipeline to serve it locally');
  }
  if (clients.length > 1) throw new Error('The template has more than one user pool client; the local console serves one pipeline\'s console');
  const [clientId, client] = clients[0];
  const pool = client.Properties?.UserPoolId?.Ref;
  if (typeof pool !== 'string') {
    throw new Error('The console\'s user pool is not created in this template (a pool you bring): the local sign-in stands in for a created pool only');
  }
  return {
    userPool: pool,
    userPoolClient: clientId,
    reviewMetricsFunction: of('AWS::Lambda::Function').find((id) => id.includes('ReviewMetricsFunction')),
  };
}
