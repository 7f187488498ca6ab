import { randomUUID } from 'node:crypto';
import type * as http from 'node:http';
import { readBody, startLoopbackServer } from './loopback-server';
import { gated, Gateway } from '../gateway/gateway';
import { SNS_BINDING } from '../gateway/services';

export interface SnsMessageAttribute {
  readonly dataType: string;
  readonly stringValue?: string;
  /** Base64, as sent on the wire. */
  readonly binaryValue?: string;
}

/** Subscription protocols that may have their own entry in a `MessageStructure: json` message. */
export const SNS_MESSAGE_PROTOCOLS = ['email', 'email-json', 'sms', 'sqs', 'lambda', 'http', 'https', 'firehose'] as const;
export type SnsMessageProtocol = (typeof SNS_MESSAGE_PROTOCOLS)[number];

export interface SnsPublished {
  readonly messageId: string;
  readonly topicArn: string;
  readonly subject?: string;
  /**
   * What a subscriber without an entry of its own receives: the `Message`, or with `MessageStructure: json` its
   * `default` entry (for the pipeline's alerts: the result JSON).
   */
  readonly message: string;
  /** `json` when the publisher sent one message per protocol. */
  readonly messageStructure?: 'json';
  /** The `Message` parameter as published (with `MessageStructure: json`, the JSON object of entries). */
  readonly rawMessage: string;
  /** What subscribers of each protocol receive as the message (before any SNS envelope). */
  readonly byProtocol: Readonly<Record<SnsMessageProtocol, string>>;
  readonly messageAttributes: Record<string, SnsMessageAttribute>;
  /** Which wire protocol the publisher used. */
  readonly protocol: 'query' | 'json';
}

/** What subscribers of `protocol` receive from a publish. */
export function deliveredTo(published: SnsPublished, protocol: SnsMessageProtocol): string {
  return published.byProtocol[protocol];
}

export interface SnsSinkOptions {
  /** The gateway that identifies and authorizes each request (a LocalPipeline's). @default none: every caller is served */
  readonly gateway?: Gateway;
  /** Topics that exist; publishing to any other is NotFound. @default every topic exists */
  readonly topics?: readonly string[];
  /** @default a random free port */
  readonly port?: number;
}

export interface SnsSink {
  /** Endpoint URL for `new SNSClient({ endpoint })`. */
  readonly url: string;
  /** Successful publishes, in order. */
  readonly messages: SnsPublished[];
  /** While failing, publishing to the topic answers 404 NotFound (the SDK raises NotFoundException). */
  failTopic(topicArn: string, fail?: boolean): void;
  close(): Promise<void>;
}

/**
 * SNS's limit on a publish: "at most 256 KB (262,144 bytes)" (SNS API Reference, Publish, Message), counting the
 * message attributes' names, types and values too (SNS Developer Guide, "Amazon SNS message attributes").
 */
const MAX_MESSAGE = 256 * 1024;
/** Subjects are "less than 100 characters long" (SNS API Reference, Publish, Subject). */
const MAX_SUBJECT = 99;
const XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';

/**
 * A local SNS that records `Publish` calls. It speaks the query protocol (form-encoded `Action=Publish`, XML
 * answers), which `@aws-sdk/client-sns` 3.x sends, and the AWS JSON 1.0 protocol (`X-Amz-Target:
 * AmazonSimpleNotificationService.Publish`) in case a newer client switches to it.
 */
export async function startSnsSink(options: SnsSinkOptions = {}): Promise<SnsSink> {
  const known = options.topics ? new Set(options.topics) : undefined;
  const failing = new Set<string>();
  const messages: SnsPublished[] = [];

  const publish = (p: PublishRequest): { messageId: string } | SnsError => {
    if (!p.topicArn) return snsError(400, 'InvalidParameter', 'Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter');
    if (p.message === undefined || p.message === '') return snsError(400, 'InvalidParameter', 'Invalid parameter: Message');
    if (p.subject !== undefined && subjectProblem(p.subject)) return snsError(400, 'InvalidParameter', 'Invalid parameter: Subject');
    if (publishSize(p) > MAX_MESSAGE) return snsError(400, 'InvalidParameter', 'Invalid parameter: Message too long');
    const delivered = deliveries(p.message, p.messageStructure);
    if ('code' in delivered) return delivered;
    if (failing.has(p.topicArn) || (known && !known.has(p.topicArn))) return snsError(404, 'NotFound', 'Topic does not exist');
    const messageId = randomUUID();
    const { message, messageStructure, ...rest } = p;
    messages.push({
      messageId,
      ...rest,
      message: delivered.default,
      ...(messageStructure === 'json' && { messageStructure }),
      rawMessage: message,
      byProtocol: delivered.byProtocol,
    });
    return { messageId };
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const body = (await readBody(req, 2 * MAX_MESSAGE)).toString('utf8');
    const target = req.headers['x-amz-target'];
    if (typeof target === 'string') return handleJson(target, body, res);
    const form = new URLSearchParams(body);
    const action = form.get('Action');
    if (req.method !== 'POST' || action !== 'Publish') {
      return sendXmlError(res, snsError(400, 'InvalidAction', `Could not find operation ${action} for version 2010-03-31`));
    }
    const result = publish({
      topicArn: form.get('TopicArn') ?? form.get('TargetArn') ?? '',
      subject: form.get('Subject') ?? undefined,
      message: form.get('Message') ?? '',
      messageStructure: form.get('MessageStructure') ?? undefined,
      messageAttributes: queryAttributes(form),
      protocol: 'query',
    });
    if ('code' in result) return sendXmlError(res, result);
    res.writeHead(200, { 'Content-Type': 'text/xml' });
    res.end(
      `<PublishResponse xmlns="${XMLNS}"><PublishResult><MessageId>${result.messageId}</MessageId></PublishResult>` +
        `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`,
    );
  };

  const handleJson = (target: string, body: string, res: http.ServerResponse): void => {
    if (target !== 'AmazonSimpleNotificationService.Publish') {
      return sendJsonError(res, snsError(400, 'InvalidAction', `Unknown operation ${target}`));
    }
    const input = JSON.parse(body || '{}') as {
      TopicArn?: string;
      TargetArn?: string;
      Subject?: string;
      Message?: string;
      MessageStructure?: string;
      MessageAttributes?: Record<string, { DataType: string; StringValue?: string; BinaryValue?: string }>;
    };
    const result = publish({
      topicArn: input.TopicArn ?? input.TargetArn ?? '',
      subject: input.Subject,
      message: input.Message ?? '',
      messageStructure: input.MessageStructure,
      messageAttributes: Object.fromEntries(
        Object.entries(input.MessageAttributes ?? {}).map(([k, v]) => [k, attribute(v.DataType, v.StringValue, v.BinaryValue)]),
      ),
      protocol: 'json',
    });
    if ('code' in result) return sendJsonError(res, result);
    res.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.0' });
    res.end(JSON.stringify({ MessageId: result.messageId }));
  };

  // A failure of the handler is SNS's InternalError (500), in the protocol the request used.
  const server = await startLoopbackServer(gated(options.gateway, SNS_BINDING, handle), options.port, (res, err, req) => {
    const e = snsError(500, 'InternalError', String((err as Error)?.message ?? err));
    return typeof req.headers['x-amz-target'] === 'string' ? sendJsonError(res, e) : sendXmlError(res, e);
  }, 'sns');

  return {
    url: server.url,
    messages,
    failTopic(topicArn, fail = true) {
      if (fail) failing.add(topicArn);
      else failing.delete(topicArn);
    },
    close: () => server.close(),
  };
}

/** A Publish request as the peer reads it from either wire protocol. */
interface PublishRequest {
  readonly topicArn: string;
  readonly subject?: string;
  readonly message: string;
  readonly messageStructure?: string;
  readonly messageAttributes: Record<string, SnsMessageAttribute>;
  readonly protocol: 'query' | 'json';
}

/**
 * Why SNS would refuse the subject, or undefined. "No line breaks or control characters, and less than 100
 * characters long" (SNS API Reference, Publish, Subject; SNS answers `Invalid parameter: Subject` for an empty one,
 * LocalStack test_sns.snapshot.json, test_publish_with_empty_subject, recorded on AWS). The peer applies the older,
 * stricter wording as well: printable ASCII beginning with a letter, number or punctuation mark (SNS replaces
 * non-ASCII subjects for email subscribers). The message of the refusals other than the empty subject is assumed.
 */
export function subjectProblem(subject: string): string | undefined {
  if (subject === '') return 'empty';
  if (subject.length > MAX_SUBJECT) return `${subject.length} characters (at most ${MAX_SUBJECT})`;
  if (/[\r\n]/.test(subject)) return 'a line break';
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(subject)) return 'a control character';
  if (/[^ -~]/.test(subject)) return 'a character outside printable ASCII';
  // Printable ASCII but a space is a letter, number or punctuation mark.
  if (subject.startsWith(' ')) return 'does not begin with a letter, number or punctuation mark';
  return undefined;
}

/** Bytes SNS counts against its limit: the message, and each attribute's name, type and value. */
function publishSize(p: PublishRequest): number {
  return Buffer.byteLength(p.message) + Object.entries(p.messageAttributes).reduce((n, [name, a]) =>
    n + Buffer.byteLength(name) + Buffer.byteLength(a.dataType) + Buffer.byteLength(a.stringValue ?? a.binaryValue ?? ''), 0);
}

/**
 * What each protocol receives. With `MessageStructure: json` the message must be a JSON object with a string
 * `default`; entries whose value is not a string are ignored (SNS API Reference, Publish, MessageStructure and
 * Message; error messages recorded on AWS in LocalStack test_sns.snapshot.json, test_message_structure_json_exc).
 */
function deliveries(message: string, structure: string | undefined):
{ default: string; byProtocol: Record<SnsMessageProtocol, string> } | SnsError {
  const every = (entries: Record<string, unknown>, fallback: string) => Object.fromEntries(SNS_MESSAGE_PROTOCOLS.map((p) =>
    [p, typeof entries[p] === 'string' ? entries[p] : fallback])) as Record<SnsMessageProtocol, string>;
  if (structure === undefined) return { default: message, byProtocol: every({}, message) };
  if (structure !== 'json') return snsError(400, 'InvalidParameter', 'Invalid parameter: MessageStructure');
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return snsError(400, 'InvalidParameter', 'Invalid parameter: Message Structure - JSON message body failed to parse');
  }
  const entries = (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : {}) as Record<string, unknown>;
  if (typeof entries.default !== 'string') {
    return snsError(400, 'InvalidParameter', 'Invalid parameter: Message Structure - No default entry in JSON message body');
  }
  return { default: entries.default, byProtocol: every(entries, entries.default) };
}

interface SnsError {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

function snsError(status: number, code: string, message: string): SnsError {
  return { status, code, message };
}

/** `MessageAttributes.entry.N.Name` / `.Value.DataType` / `.Value.StringValue` / `.Value.BinaryValue`. */
function queryAttributes(form: URLSearchParams): Record<string, SnsMessageAttribute> {
  const out: Record<string, SnsMessageAttribute> = {};
  for (let n = 1; form.has(`MessageAttributes.entry.${n}.Name`); n++) {
    const p = `MessageAttributes.entry.${n}`;
    out[form.get(`${p}.Name`)!] = attribute(
      form.get(`${p}.Value.DataType`) ?? 'String',
      form.get(`${p}.Value.StringValue`) ?? undefined,
      form.get(`${p}.Value.BinaryValue`) ?? undefined,
    );
  }
  return out;
}

function attribute(dataType: string, stringValue?: string, binaryValue?: string): SnsMessageAttribute {
  return { dataType, ...(stringValue !== undefined && { stringValue }), ...(binaryValue !== undefined && { binaryValue }) };
}

function sendXmlError(res: http.ServerResponse, e: SnsError): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(e.status, { 'Content-Type': 'text/xml' });
  res.end(
    `<ErrorResponse xmlns="${XMLNS}"><Error><Type>${e.status >= 500 ? 'Receiver' : 'Sender'}</Type>` +
      `<Code>${e.code}</Code><Message>${escapeXml(e.message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  );
}

/** JSON 1.0 errors of an awsQueryCompatible service: `__type` plus the query code in `x-amzn-query-error`. */
function sendJsonError(res: http.ServerResponse, e: SnsError): void {
  res.writeHead(e.status, {
    'Content-Type': 'application/x-amz-json-1.0',
    'x-amzn-query-error': `${e.code};${e.status >= 500 ? 'Receiver' : 'Sender'}`,
  });
  res.end(JSON.stringify({ __type: `com.amazonaws.sns#${e.code}`, message: e.message }));
}

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}
