import { CallPrincipal } from './iam/model';
import { DynamoTableOptions, tablesFromTemplate } from './peers/dynamodb';
import { deliveryStreamsFromTemplate, LocalDeliveryStream } from './peers/firehose';
import { queuedTopology, QueuedTopology } from './queued-ingestion';
import { CfnTemplate, physicalName, resolveIntrinsics, stateMachineDefinition } from './template-resolver';

/** A function of the template, as the runner runs it. */
export interface FunctionInfo {
  readonly logicalId: string;
  /** Its environment variables, resolved (the runner points some at its peers). */
  readonly env: Record<string, string>;
  readonly timeoutMs: number;
  /** The function's resource in the template (runtime, handler, code). */
  readonly resource: { readonly Properties?: any; readonly Metadata?: any };
}

/** A state machine of the template (your Express steps' machines among them). */
export interface StateMachineInfo {
  readonly logicalId: string;
  /** STANDARD or EXPRESS. */
  readonly type: string;
  /** Its definition, parsed on first use (see `stepMachineDefinition`). */
  definition?: any;
}

/** A target of the upload rule: the state machine, or (queued ingestion) the ingest queue. */
export interface UploadRule {
  readonly ruleId: string;
  readonly pattern: any;
  readonly target: any;
  readonly transformer?: any;
  /** Set when the target is the ingest queue, whose event source mapping invokes this function. */
  readonly queuedFunctionId?: string;
}

/** What the runner reads from the template once. */
export interface TemplateModel {
  readonly template: CfnTemplate;
  /** The per-image state machine and its definition (intrinsics resolved). */
  readonly stateMachineId: string;
  readonly definition: any;
  /** The bulk state machine and its definition, when the pipeline has a bulk mode. */
  readonly bulkStateMachineId?: string;
  readonly bulkDefinition?: any;
  /** Every state machine of the template, by ARN. */
  readonly stateMachines: Map<string, StateMachineInfo>;
  /** Every function of the template, by logical ID. */
  readonly functions: Map<string, FunctionInfo>;
  readonly rules: UploadRule[];
  /** The queued ingestion path (queue, event source mapping, dispatch function); undefined with direct ingestion. */
  readonly topology?: QueuedTopology;
  /** The audit trail's delivery streams. */
  readonly deliveryStreams: LocalDeliveryStream[];
  /** Names of the buckets the template creates (audit, quarantine, ...). */
  readonly buckets: string[];
  /** The template's DynamoDB tables (idempotency, review). */
  readonly tables: DynamoTableOptions[];
}

export interface TemplateModelOptions {
  /** Logical ID prefix of the pipeline's resources, needed when the stack holds more than one pipeline. */
  readonly pipelineId?: string;
  /** Refuses a pipeline definition the runner cannot run faithfully; called as each is read, before the rest. */
  readonly checkDefinition: (definition: any) => void;
}

/** Reads the pipeline's state machines, functions, upload rule targets and delivery streams from the template. */
export function templateModel(template: CfnTemplate, options: TemplateModelOptions): TemplateModel {
  const stateMachineId = findStateMachine(template, 'StateMachine', options.pipelineId)!;
  const definition = stateMachineDefinition(template, stateMachineId);
  options.checkDefinition(definition);
  // Refused here, before any peer starts, when the Firehose peer would not deliver as AWS does.
  const deliveryStreams = deliveryStreamsFromTemplate(template);
  const bulkStateMachineId = findStateMachine(template, 'BulkStateMachine', options.pipelineId, true);
  let bulkDefinition: any;
  if (bulkStateMachineId) {
    bulkDefinition = stateMachineDefinition(template, bulkStateMachineId);
    options.checkDefinition(bulkDefinition);
  }
  const functions = new Map<string, FunctionInfo>();
  const stateMachines = new Map<string, StateMachineInfo>();
  const rules: UploadRule[] = [];
  let topology: QueuedTopology | undefined;
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type === 'AWS::Events::Rule') {
      const pattern = () => resolveIntrinsics(r.Properties.EventPattern, template);
      const target = (r.Properties.Targets ?? []).find((t: any) => t.Arn?.Ref === stateMachineId);
      if (target) rules.push({ ruleId: id, pattern: pattern(), target, transformer: target.InputTransformer });
      for (const t of r.Properties.Targets ?? []) {
        const queued = queuedTopology(template, t);
        if (!queued || topology) continue;
        topology = queued;
        rules.push({ ruleId: id, pattern: pattern(), target: t, transformer: t.InputTransformer, queuedFunctionId: queued.functionId });
      }
    }
    if (r.Type === 'AWS::Lambda::Function') {
      functions.set(id, {
        logicalId: id,
        env: resolveIntrinsics(r.Properties.Environment?.Variables ?? {}, template),
        timeoutMs: (r.Properties.Timeout ?? 3) * 1000,
        resource: r,
      });
    }
    if (r.Type === 'AWS::StepFunctions::StateMachine') {
      stateMachines.set(resolveIntrinsics({ Ref: id }, template), { logicalId: id, type: r.Properties?.StateMachineType ?? 'STANDARD' });
    }
  }
  return {
    template,
    stateMachineId,
    definition,
    bulkStateMachineId,
    bulkDefinition,
    stateMachines,
    functions,
    rules,
    topology,
    deliveryStreams,
    buckets: Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::S3::Bucket').map(([id]) => physicalName(id, 'AWS::S3::Bucket')),
    tables: tablesFromTemplate(template.Resources),
  };
}

/** The bucket uploads go to: the one the upload rule names. */
export function uploadBucketName(model: TemplateModel): string {
  const bucketNames = model.rules.flatMap((rule) => rule.pattern?.detail?.bucket?.name ?? []);
  if (bucketNames.length === 0) throw new Error('The pipeline has no upload rule naming a bucket');
  return bucketNames[0];
}

/** The principal a function runs as: its execution role. */
export function functionPrincipal(template: CfnTemplate, fn: FunctionInfo): CallPrincipal {
  return { kind: 'role', roleArn: String(resolveIntrinsics(fn.resource.Properties?.Role, template)), sessionName: fn.logicalId };
}

/** Every state of a definition, those of Map item processors and Parallel branches included. */
export function allStates(definition: any): Array<[string, any]> {
  return Object.entries<any>(definition.States).flatMap(([name, state]) => [
    [name, state] as [string, any],
    ...(state.ItemProcessor ?? state.Iterator ? allStates(state.ItemProcessor ?? state.Iterator) : []),
    ...(state.Branches ?? []).flatMap((b: any) => allStates(b)),
  ]);
}

/** Whether a Task state invokes a function (by its ARN, or through the optimized `lambda:invoke` integration). */
export function isLambdaTask(state: any): boolean {
  return state.Resource.startsWith('arn:aws:lambda:') || state.Resource === 'arn:aws:states:::lambda:invoke';
}

/** The pipeline's state machine whose logical ID ends in `<kind><hash>` (e.g. IcsStateMachine1A2B3C4D). */
function findStateMachine(template: CfnTemplate, kind: string, pipelineId?: string, optional = false): string | undefined {
  const pattern = new RegExp(`^${pipelineId ?? '.*?'}${kind}[0-9A-F]{8}$`);
  const ids = Object.entries(template.Resources)
    .filter(([id, r]) => r.Type === 'AWS::StepFunctions::StateMachine' && pattern.test(id) && !(kind === 'StateMachine' && id.includes('Bulk')))
    .map(([id]) => id);
  if (ids.length === 0 && optional) return undefined;
  if (ids.length !== 1) {
    throw new Error(`Expected one pipeline ${kind}${pipelineId ? ` under ${pipelineId}` : ''}, found ${ids.length}: pass pipelineId`);
  }
  return ids[0];
}
