import { BatchItem, summarizeBatch } from './batch-summary';

/** Input: the bulk Map's compact item outputs and where the full results are. */
export interface SummarizeRequest {
  readonly items: BatchItem[];
  readonly resultsLocation?: string;
}

/** Entry point: one invocation per batch, never per image. */
export async function handler(request: SummarizeRequest) {
  return summarizeBatch(Array.isArray(request?.items) ? request.items : [], request?.resultsLocation);
}
