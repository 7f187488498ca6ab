import { STEP_TASK_STATE } from 'cdk-image-classification-pipeline/lib/workflow/step-states';
import { SUPPORTED_INTEGRATIONS } from './integrations';
import { unsupportedJsonata } from './jsonata-states';
import { FunctionCodeOptions, unrunnable } from './lambda-runtime';
import { allStates, isLambdaTask, StateMachineInfo, TemplateModel } from './template-model';
import { stateMachineDefinition } from './template-resolver';

// What the runner refuses rather than approximates, when it starts and naming why: definitions the interpreter would
// run differently from AWS, and workflow steps whose function or state machine cannot run locally.

/** Definitions the interpreter would run differently from AWS are refused, not approximated. */
export function refuseUnfaithful(definition: any): void {
  const problems: string[] = [];
  if (definition.QueryLanguage === 'JSONata') problems.push('the state machine uses JSONata, which aws-local-stepfunctions ignores');
  for (const [name, state] of allStates(definition)) {
    const jsonataProblem = unsupportedJsonata(name, state);
    if (jsonataProblem) problems.push(jsonataProblem);
    if (state.Type === 'Task' && !(state.Resource.startsWith('arn:aws:lambda:') || SUPPORTED_INTEGRATIONS.includes(state.Resource))) {
      problems.push(`state ${name} calls ${state.Resource}, which the local runner does not implement`);
    }
    if (state.Type === 'Map' && state.ItemBatcher && (state.ItemBatcher.MaxInputBytesPerBatch || state.ItemBatcher.BatchInput)) {
      problems.push(`state ${name} batches by bytes or with BatchInput, which the local runner does not implement`);
    }
  }
  if (problems.length > 0) throw new Error(`The local runner cannot execute this definition faithfully:\n  - ${problems.join('\n  - ')}`);
}

/** A step's Express state machine's definition, read and refused if unfaithful on first use. */
export function stepMachineDefinition(model: TemplateModel, machine: StateMachineInfo): any {
  if (!machine.definition) {
    machine.definition = stateMachineDefinition(model.template, machine.logicalId);
    refuseUnfaithful(machine.definition);
  }
  return machine.definition;
}

/**
 * Refuses, naming the step, a workflow step the runner cannot run as Lambda or Step Functions would: a function that
 * is a container image, runs another runtime than Node.js or whose code is not at hand; a state machine that is not
 * EXPRESS or not in the template. A step's Express machine is checked the same way, its own tasks included.
 */
export function refuseUnrunnableSteps(model: TemplateModel, definition: any, code: FunctionCodeOptions): void {
  const problems: string[] = [];
  const checkMachine = (step: string, graph: any, seen: Set<string>, top = false) => {
    for (const [stateName, state] of allStates(graph)) {
      if (state.Type !== 'Task') continue;
      const where = top ? `step ${step} (state ${stateName})` : `step ${step} (state ${stateName} of its state machine)`;
      if (isLambdaTask(state)) {
        const fnArn: string = state.Resource === 'arn:aws:states:::lambda:invoke' ? state.Parameters?.FunctionName : state.Resource;
        const fn = model.functions.get(String(fnArn).split(':').pop()!);
        const why = fn ? unrunnable(fn, code) : `invokes ${fnArn}, which is not a function of the template`;
        if (why) problems.push(`${where}: ${why}`);
      } else if (state.Resource === 'arn:aws:states:::aws-sdk:sfn:startSyncExecution') {
        const arn = state.Parameters?.StateMachineArn;
        const machine = model.stateMachines.get(arn);
        if (!machine) {
          problems.push(`${where}: starts ${arn}, which is not a state machine of the template`);
        } else if (machine.type !== 'EXPRESS') {
          problems.push(`${where}: starts ${machine.logicalId}, a ${machine.type} state machine; StartSyncExecution runs EXPRESS ones only`);
        } else if (!seen.has(arn)) {
          seen.add(arn);
          try {
            checkMachine(step, stepMachineDefinition(model, machine), seen);
          } catch (e) {
            problems.push(`${where}: its state machine ${machine.logicalId} ${(e as Error).message.replace(/^The local runner /, 'is one the local runner ')}`);
          }
        }
      }
    }
  };
  for (const [stateName, state] of allStates(definition)) {
    const step = STEP_TASK_STATE.exec(stateName)?.[1];
    if (step && state.Type === 'Task') checkMachine(step, { States: { [stateName]: state } }, new Set(), true);
    // An Express step runs in a Parallel state (so that a failed execution is retried): its branch holds the task.
    if (step && state.Type === 'Parallel') for (const branch of state.Branches ?? []) checkMachine(step, branch, new Set(), true);
  }
  if (problems.length > 0) throw new Error(`The local runner cannot run these workflow steps:\n  - ${problems.join('\n  - ')}`);
}
