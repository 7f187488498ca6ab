import { ModelBackend, ModelOutput, predictionOutput } from './model-backend';

/** A user function standing in for a model: a score array becomes `{"prediction": [...]}`, anything else is JSON. */
export type ModelFunction = (bytes: Buffer, contentType: string) => number[] | object | Promise<number[] | object>;

/** Wraps a plain function as a model, for deterministic tests that need no real model. */
export function functionModel(fn: ModelFunction): ModelBackend {
  return {
    async invoke(body: Buffer, contentType: string): Promise<ModelOutput> {
      const out = await fn(body, contentType);
      return Array.isArray(out) ? predictionOutput(out) : { body: JSON.stringify(out), contentType: 'application/json' };
    },
  };
}
