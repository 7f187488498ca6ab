import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { FirehoseClient } from '@aws-sdk/client-firehose';
import { RekognitionClient } from '@aws-sdk/client-rekognition';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import type { LocalExecution } from '../execution';
import { Gateway } from '../gateway/gateway';
import { Call } from '../iam/calls';
import { CallPrincipal } from '../iam/model';
import { integrationError } from '../integration-errors';
import { FirehosePeer } from '../peers/firehose';
import { FunctionInfo, StateMachineInfo, TemplateModel } from '../template-model';

/** What a Task state does with its (effective) parameters: the integration's answer, or a thrown integration error. */
export type TaskHandler = (input: any) => Promise<any>;

/** The runner's clients of the peers, for one principal. */
export interface PrincipalClients {
  readonly s3: S3Client;
  readonly sns: SNSClient;
  readonly rekognition: RekognitionClient;
  readonly firehose?: FirehoseClient;
  readonly dynamodb?: DynamoDBClient;
}

/** An event the state machine put on EventBridge. */
export interface LocalEvent {
  readonly source: string;
  readonly detailType: string;
  readonly detail: any;
  readonly eventBusName?: string;
}

/** An object the state machine wrote with s3:putObject (audit records). */
export interface LocalObjectWrite {
  readonly bucket: string;
  readonly key: string;
  readonly body: string;
}

/** The effects the integrations record, in order: the runner tells executions apart by the ARN each carries. */
export interface IntegrationRecords {
  /** Every event put on EventBridge. */
  readonly events: LocalEvent[];
  /** Every object written through s3:putObject. */
  readonly objectWrites: LocalObjectWrite[];
  /** Every record put into a delivery stream through firehose:putRecord, with the object it is delivered in. */
  readonly firehoseRecords: LocalObjectWrite[];
}

/** What an integration's task handler needs: who calls, through which clients and gateway, and where effects go. */
export interface IntegrationContext {
  /** The principal the integration calls as (the state machine's role). */
  readonly principal: CallPrincipal;
  /** Clients of the peers signed as `principal`. */
  readonly clients: PrincipalClients;
  /** Authorizes the calls the runner makes itself (Lambda, Step Functions, EventBridge). */
  readonly gateway: Gateway;
  readonly model: TemplateModel;
  readonly records: IntegrationRecords;
  /** The Firehose peer; undefined when the template has no delivery stream. */
  readonly firehose?: FirehosePeer;
  /** Event buses whose PutEvents entries fail, with the entry's `ErrorCode` (see `LocalPipeline.failingEventBuses`). */
  readonly failingEventBuses: ReadonlyMap<string, string>;
  /** Invokes a function as Lambda would, errors shaped as Step Functions reports them. */
  invoke(fn: FunctionInfo, payload: unknown): Promise<unknown>;
  /** Runs an Express state machine of the template to its end, unrecorded, with the given execution ARN. */
  runExpress(machine: StateMachineInfo, input: unknown, executionArn: string): Promise<LocalExecution>;
}

/** A call the runner makes itself: denied, it fails with the error Step Functions names the service's refusal. */
export function authorizeOrFail(gateway: Gateway, calls: Call[], errorName: string): void {
  const denial = gateway.authorize(calls);
  if (denial) throw integrationError(errorName, denial.message);
}
