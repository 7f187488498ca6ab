/**
 * Real seconds a scaled timeout is at least: CPU work (loading a bundle, running a model) takes real time that no
 * scale shrinks, so a timeout never fires before this. Only waits (retries, backoff, visibility) scale below it.
 */
export const MIN_REAL_TIMEOUT_SECONDS = 5;

/** A timeout in real seconds under `timeScale`, never below {@link MIN_REAL_TIMEOUT_SECONDS}. */
export const scaledTimeout = (seconds: number, timeScale: number) => Math.max(seconds * timeScale, MIN_REAL_TIMEOUT_SECONDS);

/**
 * Scales a definition's timings for a runner on simulated time: retry intervals and their cap, task and execution
 * timeouts (see {@link scaledTimeout}). The interpreter then waits `IntervalSeconds × BackoffRate^n` (with the definition's jitter) in scaled
 * real time, exactly the schedule AWS runs, in a fraction of the wait.
 */
export function scaleDefinitionTime(definition: any, timeScale: number): void {
  if (typeof definition.TimeoutSeconds === 'number') definition.TimeoutSeconds = scaledTimeout(definition.TimeoutSeconds, timeScale);
  for (const state of Object.values<any>(definition.States ?? {})) {
    if (typeof state.TimeoutSeconds === 'number') state.TimeoutSeconds = scaledTimeout(state.TimeoutSeconds, timeScale);
    if (typeof state.HeartbeatSeconds === 'number') state.HeartbeatSeconds = scaledTimeout(state.HeartbeatSeconds, timeScale);
    if (state.Type === 'Wait' && typeof state.Seconds === 'number') state.Seconds *= timeScale;
    for (const retrier of state.Retry ?? []) {
      // Step Functions' defaults, made explicit so they scale too.
      retrier.IntervalSeconds = (retrier.IntervalSeconds ?? 1) * timeScale;
      if (typeof retrier.MaxDelaySeconds === 'number') retrier.MaxDelaySeconds *= timeScale;
    }
    for (const nested of [state.ItemProcessor, state.Iterator, ...(state.Branches ?? [])]) if (nested) scaleDefinitionTime(nested, timeScale);
  }
}
