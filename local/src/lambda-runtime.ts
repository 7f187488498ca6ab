import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { ScaledClock } from './clock';
import { Gateway } from './gateway/gateway';
import { scaledTimeout } from './scaled-time';
import { FunctionInfo, functionPrincipal } from './template-model';
import { CfnTemplate, LOCAL_ACCOUNT, resolveIntrinsics } from './template-resolver';

/** The library's bundled handlers (the same code the template deploys), from the installed copy of the library. */
export const HANDLERS_DIR = path.join(path.dirname(require.resolve('cdk-image-classification-pipeline/package.json')), 'assets', 'handlers');

/** The library's own functions end their description with this; their bundles are in `handlersDir`. */
const LIBRARY_FUNCTION_DESCRIPTION = '(cdk-image-classification-pipeline)';

/** A bundled Lambda handler. */
type Handler = (event: unknown, context?: unknown) => Promise<unknown>;

/** Where a function's code comes from (see `LocalPipelineOptions`). */
export interface FunctionCodeOptions {
  readonly template: CfnTemplate;
  /** Directory of the bundled handlers (`<name>.lambda/index.js`). @default HANDLERS_DIR */
  readonly handlersDir?: string;
  /** The cloud assembly holding your functions' assets. */
  readonly assemblyDir?: string;
  /** Logical IDs of further functions to run from `handlersDir` as bundled handlers. */
  readonly bundledFunctions?: string[];
}

export interface LambdaRuntimeOptions extends FunctionCodeOptions {
  readonly gateway: Gateway;
  readonly clock: ScaledClock;
  /** Real ms per simulated ms, for the functions' timeouts. @default - real time */
  readonly timeScale?: number;
  /** Receives every EMF line the functions write, with the simulated time. @default - printed */
  readonly metricsSink?: (line: string, timestampMs: number) => void;
}

/**
 * Runs the template's functions in-process as Lambda would: one execution environment per concurrent invocation
 * (a new one is a cold start), the function's environment with its role's credentials, its timeout and the Lambda
 * context on the simulated clock.
 */
export class LambdaRuntime {
  /** Execution environments created per function logical ID (cold starts): one per concurrent invocation at most. */
  public readonly coldStarts: Record<string, number> = {};
  /** Environment every function gets on top of its own: the peers' endpoints and credentials. */
  public readonly peerEnv: Record<string, string> = {};
  /** Idle execution environments per function: Lambda runs each concurrent invocation in its own. */
  private readonly idleHandlers = new Map<string, Handler[]>();
  /** Environment set on top of a function's own, per logical ID (the local console points its function at its peers). */
  private readonly envOverrides = new Map<string, Record<string, string>>();

  constructor(private readonly options: LambdaRuntimeOptions) {}

  /** The environment a function's execution environment gets: the peers', its role's credentials, its own, overrides. */
  public environment(fn: FunctionInfo): Record<string, string> {
    return { ...this.peerEnv, ...this.roleEnvironment(fn), ...fn.env, ...this.envOverrides.get(fn.logicalId) };
  }

  /**
   * Invokes a function with `env` on top of its own environment for environments created from now on. Errors are
   * thrown as the function threw them.
   */
  public async invokeFunction(fn: FunctionInfo, event: unknown, env?: Record<string, string>): Promise<unknown> {
    if (env && JSON.stringify(env) !== JSON.stringify(this.envOverrides.get(fn.logicalId))) {
      this.envOverrides.set(fn.logicalId, env);
      this.idleHandlers.delete(fn.logicalId);
    }
    try {
      return await this.invoke(fn, event);
    } catch (e: any) {
      // invoke() shapes errors as Step Functions reports them; callers outside a workflow want the function's own.
      let parsed: any;
      try {
        parsed = JSON.parse(e?.message);
      } catch {
        parsed = undefined;
      }
      throw Object.assign(new Error(parsed?.errorMessage ?? e?.message), { name: parsed?.errorType ?? e?.name });
    }
  }

  /** Invokes the bundled handler in-process as Lambda would, errors shaped as Step Functions reports them. */
  public async invoke(fn: FunctionInfo, payload: unknown): Promise<unknown> {
    // An idle environment of this function, or a new one (a cold start): never one another invocation is using,
    // since a bundle's module state (SDK clients, Powertools' batch processor) belongs to one invocation at a time.
    const idle = this.idleHandlers.get(fn.logicalId) ?? [];
    this.idleHandlers.set(fn.logicalId, idle);
    const handler = idle.pop() ?? this.loadHandler(fn);
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const timeoutRealMs = this.options.timeScale === undefined ? fn.timeoutMs : scaledTimeout(fn.timeoutMs / 1000, this.options.timeScale) * 1000;
    const timeout = new Promise((_r, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        reject(Object.assign(new Error(`Task timed out after ${fn.timeoutMs / 1000} seconds`), { name: 'Sandbox.Timedout' }));
      }, timeoutRealMs);
    });
    // The Lambda context, with the remaining time on the simulated clock.
    const clock = this.options.clock;
    const deadline = clock.now() + fn.timeoutMs;
    const context = {
      functionName: fn.logicalId,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${LOCAL_ACCOUNT.region}:${LOCAL_ACCOUNT.account}:function:${fn.logicalId}`,
      // Lambda's default when the template sets none.
      memoryLimitInMB: String(fn.resource.Properties?.MemorySize ?? 128),
      awsRequestId: randomUUID(),
      logGroupName: `/aws/lambda/${fn.logicalId}`,
      logStreamName: 'local',
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - clock.now()),
    };
    try {
      return await Promise.race([handler(JSON.parse(JSON.stringify(payload)), context), timeout]);
    } catch (e: any) {
      const errorType = e?.name ?? 'Error';
      throw Object.assign(new Error(JSON.stringify({ errorType, errorMessage: e?.message ?? String(e), trace: [] })), { name: errorType });
    } finally {
      clearTimeout(timer);
      // Lambda discards an environment whose invocation timed out; the others are reused.
      if (!timedOut) idle.push(handler);
    }
  }

  /** The credentials Lambda gives a function's environment: its role's session (`AWS_SESSION_TOKEN` included). */
  private roleEnvironment(fn: FunctionInfo): Record<string, string> {
    const c = this.options.gateway.credentialsFor(functionPrincipal(this.options.template, fn));
    return { AWS_ACCESS_KEY_ID: c.accessKeyId, AWS_SECRET_ACCESS_KEY: c.secretAccessKey, AWS_SESSION_TOKEN: c.sessionToken ?? '' };
  }

  /** Loads the bundle with the function's environment, as a new execution environment does. */
  private loadHandler(fn: FunctionInfo): Handler {
    this.coldStarts[fn.logicalId] = (this.coldStarts[fn.logicalId] ?? 0) + 1;
    if (!isLibraryFunction(fn, this.options)) {
      // Your function (a workflow step's): its own code from the cloud assembly, or its inline code.
      const why = unrunnable(fn, this.options);
      if (why) throw new Error(why);
      const { file, source, exportName } = handlerEntry(fn, this.options);
      return this.loadModule(fn, file, source, exportName);
    }
    // Bundles are named after their function class: ClassifyFunction → classify.lambda.
    const name = /(Classify|Summarize|Dispatch|ConsoleApi|ReviewMetrics)Function/.exec(fn.logicalId)?.[1]
      ?.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();
    if (!name) throw new Error(`No bundled handler is known for function ${fn.logicalId}`);
    // Absolute: createRequire needs an absolute path, and a relative handlersDir means the caller's working directory.
    const entry = path.resolve(this.options.handlersDir ?? HANDLERS_DIR, `${name}.lambda`, 'index.js');
    return this.loadModule(fn, entry, fs.readFileSync(entry, 'utf8'), 'handler');
  }

  /** Runs a CommonJS module's source as a new execution environment would, and returns its handler export. */
  private loadModule(fn: FunctionInfo, entry: string, source: string, exportName: string): Handler {
    // A fresh module with its own `process.env` (the template's environment plus the peers' endpoints),
    // outside every module cache (Node's and jest's): each runner gets its own SDK clients configured for
    // its own peers, as a new execution environment would, and the host process's environment is untouched.
    const env = { ...process.env, ...this.environment(fn) };
    // EMF lines go to the metrics sink (CloudWatch's part on Lambda) when there is one; everything else to stdout.
    const sink = this.options.metricsSink;
    const stdout = sink && new Proxy(process.stdout, {
      get: (target, prop) => {
        if (prop !== 'write') return Reflect.get(target, prop);
        return (chunk: unknown, ...rest: any[]) => {
          const text = String(chunk);
          if (text.includes('"_aws"')) {
            for (const line of text.split('\n').filter((l) => l.trim() !== '')) sink(line, this.options.clock.now());
            const cb = rest.find((r) => typeof r === 'function');
            if (cb) cb();
            return true;
          }
          return (process.stdout.write as any)(chunk, ...rest);
        };
      },
    });
    const sandboxedProcess = new Proxy(process, {
      get: (target, prop) => {
        if (prop === 'env') return env;
        if (prop === 'stdout' && stdout) return stdout;
        const value = Reflect.get(target, prop);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const wrapper = vm.runInThisContext(
      `(function (exports, require, module, __filename, __dirname, process) {${source}\n})`,
      { filename: entry },
    );
    const mod = { exports: {} as any };
    wrapper(mod.exports, createRequire(entry), mod, entry, path.dirname(entry), sandboxedProcess);
    const handler = mod.exports[exportName];
    if (typeof handler !== 'function') throw new Error(`function ${fn.logicalId}: ${entry} exports no function ${exportName}`);
    return handler as Handler;
  }
}

/** Why the runner cannot run a function in-process, or undefined when it can. */
export function unrunnable(fn: FunctionInfo, options: FunctionCodeOptions): string | undefined {
  if (isLibraryFunction(fn, options)) return undefined;
  const props = fn.resource.Properties ?? {};
  const refuse = (what: string) => `function ${fn.logicalId} ${what}; the local runner runs Node.js functions in-process (Code.fromAsset, Code.fromInline or a bundled NodejsFunction)`;
  if (props.PackageType === 'Image' || props.Code?.ImageUri !== undefined) return refuse('is a container image');
  const runtime = String(props.Runtime ?? '');
  if (!/^nodejs\d+\.x$/.test(runtime)) return refuse(`runs ${runtime || 'an unknown runtime'}`);
  try {
    handlerEntry(fn, options);
  } catch (e) {
    return `function ${fn.logicalId}: ${(e as Error).message}`;
  }
  return undefined;
}

function isLibraryFunction(fn: FunctionInfo, options: FunctionCodeOptions): boolean {
  if (options.bundledFunctions?.includes(fn.logicalId)) return true;
  // The description may hold a token (the endpoint name of a ClassifierEndpoint): resolved first.
  return String(resolveIntrinsics(fn.resource.Properties?.Description ?? '', options.template)).endsWith(LIBRARY_FUNCTION_DESCRIPTION);
}

/**
 * The file and export of a function's handler (`dir/file.export` → `<asset>/dir/file.js`, export `export`): its
 * inline code (`ZipFile`, run as `index.js`), or its asset in the cloud assembly (`aws:asset:path` metadata, or the
 * `asset.<hash>` directory its S3 key names).
 */
function handlerEntry(fn: FunctionInfo, options: FunctionCodeOptions): { file: string; source: string; exportName: string } {
  const props = fn.resource.Properties ?? {};
  const handler = String(props.Handler ?? '');
  const dot = handler.lastIndexOf('.');
  if (dot <= 0) throw new Error(`handler "${handler}" is not <file>.<export>`);
  const [module, exportName] = [handler.slice(0, dot), handler.slice(dot + 1)];
  if (typeof props.Code?.ZipFile === 'string') {
    if (module !== 'index') throw new Error(`inline code is index.js, but the handler is ${handler}`);
    return { file: path.join(os.tmpdir(), `ics-local-inline-${fn.logicalId}`, 'index.js'), source: props.Code.ZipFile, exportName };
  }
  const key = typeof props.Code?.S3Key === 'string' ? props.Code.S3Key : undefined;
  const metadataPath = fn.resource.Metadata?.['aws:asset:path'];
  if (!options.assemblyDir) throw new Error('its code is an asset: pass assemblyDir (the cloud assembly directory, e.g. app.outdir or cdk.out)');
  const dir = typeof metadataPath === 'string' ? path.resolve(options.assemblyDir, metadataPath)
    : key && /\.zip$/.test(key) ? path.resolve(options.assemblyDir, `asset.${key.replace(/\.zip$/, '')}`) : undefined;
  if (!dir || !fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new Error(`its asset ${dir ?? `(S3 key ${key ?? 'unknown'})`} is not a directory of the cloud assembly ${options.assemblyDir}`);
  }
  for (const ext of ['.js', '.cjs']) {
    const file = path.join(dir, `${module}${ext}`);
    if (fs.existsSync(file)) return { file, source: fs.readFileSync(file, 'utf8'), exportName };
  }
  if (fs.existsSync(path.join(dir, `${module}.mjs`))) throw new Error(`${module}.mjs is an ES module; the local runner runs CommonJS handlers (.js, .cjs)`);
  throw new Error(`its asset has no ${module}.js for the handler ${handler}`);
}
