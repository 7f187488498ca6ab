/** What a model produced for one request: the bytes SageMaker would return and their content type. */
export interface ModelOutput {
  readonly body: Buffer | string;
  readonly contentType: string;
}

/**
 * A model behind a local SageMaker endpoint. `invoke` receives the raw request body and its Content-Type, exactly
 * as `InvokeEndpoint` delivers them to a container. Throwing means "the model raised": the runtime peer answers
 * 424 ModelError, as SageMaker does when a container returns an error.
 */
export interface ModelBackend {
  invoke(body: Buffer, contentType: string): Promise<ModelOutput>;
  /** Optional: resolves once the model is loaded (the peer answers ModelNotReadyException until then). */
  ready?(): Promise<void>;
  /** Optional: frees resources (wasm memory, sessions). */
  close?(): Promise<void>;
}

/** The error a backend throws to make the peer report a specific upstream status (as a container would). */
export class ModelInvocationError extends Error {
  constructor(message: string, readonly originalStatusCode = 500, readonly originalMessage = message) {
    super(message);
    this.name = 'ModelInvocationError';
  }
}

/** SageMaker's built-in image-classification output: one probability per class, in class-index order. */
export function predictionOutput(prediction: number[]): ModelOutput {
  return { body: JSON.stringify({ prediction }), contentType: 'application/json' };
}
