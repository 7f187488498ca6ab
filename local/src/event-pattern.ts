/**
 * EventBridge event-pattern matching and input transformation, for the subset the pipeline's rules use
 * (and a little more). Unknown operators throw, so the runner never guesses what a rule means.
 */

const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);

function wildcardToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\' && i + 1 < pattern.length) re += pattern[++i].replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    else if (c === '*') re += '.*';
    else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

/** Whether one value satisfies one matcher from a pattern array. */
function matchesOne(matcher: unknown, value: unknown, present: boolean): boolean {
  if (!isObject(matcher)) return present && value === matcher;
  const [op, arg] = Object.entries(matcher)[0] ?? [];
  const text = typeof value === 'string' ? value : undefined;
  switch (op) {
    case 'exists': return present === arg;
    case 'prefix':
      if (isObject(arg)) return text !== undefined && text.toLowerCase().startsWith(String(arg['equals-ignore-case']).toLowerCase());
      return text !== undefined && text.startsWith(arg);
    case 'suffix':
      if (isObject(arg)) return text !== undefined && text.toLowerCase().endsWith(String(arg['equals-ignore-case']).toLowerCase());
      return text !== undefined && text.endsWith(arg);
    case 'equals-ignore-case': return text !== undefined && text.toLowerCase() === String(arg).toLowerCase();
    case 'wildcard': return text !== undefined && wildcardToRegExp(arg).test(text);
    case 'anything-but': {
      const values = Array.isArray(arg) ? arg : [arg];
      return present && !values.some((v) => (isObject(v) ? matchesOne(v, value, present) : v === value));
    }
    default:
      throw new Error(`The local runner does not implement the EventBridge pattern operator ${JSON.stringify(op)}`);
  }
}

/** Whether `event` matches the EventBridge `pattern` (fields AND-ed, array entries OR-ed). */
export function matchesEventPattern(pattern: Record<string, unknown>, event: Record<string, unknown>): boolean {
  return Object.entries(pattern).every(([field, expected]) => {
    const present = isObject(event) && field in event;
    const value = present ? event[field] : undefined;
    if (isObject(expected)) return isObject(value) && matchesEventPattern(expected, value);
    const matchers = expected as unknown[];
    const values = Array.isArray(value) ? value : [value];
    return matchers.some((m) => values.some((v) => matchesOne(m, v, present)));
  });
}

/** Reads a dotted JSON path (`$.detail.object.key`) as EventBridge input paths do. */
function readPath(event: unknown, path: string): unknown {
  if (path === '$') return event;
  return path.replace(/^\$\.?/, '').split('.').reduce<any>((v, k) => (isObject(v) ? v[k] : undefined), event);
}

/** Applies an EventBridge InputTransformer: `<name>` is replaced by the JSON of its path's value. */
export function applyInputTransformer(
  transformer: { InputPathsMap?: Record<string, string>; InputTemplate: string },
  event: Record<string, unknown>,
): unknown {
  const values = Object.fromEntries(Object.entries(transformer.InputPathsMap ?? {}).map(([name, path]) => [name, readPath(event, path)]));
  const text = transformer.InputTemplate.replace(/"?<([\w.-]+)>"?/g, (whole, name: string) => {
    if (name === 'aws.events.event.json') return JSON.stringify(event);
    if (!(name in values)) return whole;
    const v = values[name];
    if (whole.startsWith('"') && whole.endsWith('"')) return JSON.stringify(v ?? null);
    return v === undefined ? 'null' : JSON.stringify(v);
  });
  return JSON.parse(text);
}

let lastSequencer = 0;
/** S3's sequencer: hexadecimal, increasing for the events of one key (two uploads in one millisecond still differ). */
function nextSequencer(): string {
  lastSequencer = Math.max(lastSequencer + 1, Date.now() * 1000);
  return lastSequencer.toString(16).toUpperCase().padStart(16, '0');
}

/** The EventBridge event S3 sends for an upload. */
export function objectCreatedEvent(
  bucket: string,
  key: string,
  size: number,
  etag: string,
  opts: { versionId?: string; time?: Date; account?: string; region?: string; reason?: string } = {},
) {
  const time = (opts.time ?? new Date()).toISOString();
  return {
    'version': '0',
    'id': `local-${Math.random().toString(16).slice(2)}`,
    'detail-type': 'Object Created',
    'source': 'aws.s3',
    'account': opts.account ?? '123456789012',
    time,
    'region': opts.region ?? 'us-east-1',
    'resources': [`arn:aws:s3:::${bucket}`],
    'detail': {
      'version': '0',
      'bucket': { name: bucket },
      'object': { key, size, etag, ...(opts.versionId ? { 'version-id': opts.versionId } : {}), sequencer: nextSequencer() },
      'request-id': 'LOCAL',
      'requester': opts.account ?? '123456789012',
      'source-ip-address': '127.0.0.1',
      'reason': opts.reason ?? 'PutObject',
    },
  };
}
