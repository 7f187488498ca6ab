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

export interface SnsPublished {
  readonly messageId: string;
  readonly topicArn: string;
  readonly subject?: string;
  readonly message: string;
  readonly messageAttributes: Record<string, SnsMessageAttribute>;
  /** Which wire protocol the publisher used. */
  readonly protocol: 'query' | 'json';
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

/** SNS's limit on a message (body plus attributes, approximated here by the body). */
const MAX_MESSAGE = 256 * 1024;
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

  const publish = (p: Omit<SnsPublished, 'messageId'>): { messageId: string } | SnsError => {
    if (!p.topicArn) return snsError(400, 'InvalidParameter', 'Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter');
    if (p.message === undefined || p.message === '') return snsError(400, 'InvalidParameter', 'Invalid parameter: Message');
    if (Buffer.byteLength(p.message) > MAX_MESSAGE) return snsError(400, 'InvalidParameter', 'Invalid parameter: Message too long');
    if (failing.has(p.topicArn) || (known && !known.has(p.topicArn))) return snsError(404, 'NotFound', 'Topic does not exist');
    const messageId = randomUUID();
    messages.push({ messageId, ...p });
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
      MessageAttributes?: Record<string, { DataType: string; StringValue?: string; BinaryValue?: string }>;
    };
    const result = publish({
      topicArn: input.TopicArn ?? input.TargetArn ?? '',
      subject: input.Subject,
      message: input.Message ?? '',
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
