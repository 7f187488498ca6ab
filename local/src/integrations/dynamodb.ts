import { GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { IntegrationContext, TaskHandler } from './context';
import { integrationError, optimizedIntegrationErrorName, sdkErrorNameOf, sdkModelledErrors } from '../integration-errors';

const COMMANDS: Record<string, new (input: any) => any> = {
  putItem: PutItemCommand, getItem: GetItemCommand, updateItem: UpdateItemCommand,
};

/** The optimized DynamoDB integrations the workflow uses (`putItem`, `getItem`, `updateItem`), through the DynamoDB peer. */
export function dynamodbTask(action: string, ctx: IntegrationContext): TaskHandler {
  const client = ctx.clients.dynamodb;
  return async (params) => {
    try {
      if (!client) throw new Error('no DynamoDB table in the template');
      const out: any = await client.send(new COMMANDS[action](params));
      delete out.$metadata;
      return out;
    } catch (e: any) {
      // The optimized DynamoDB integration names errors `DynamoDB.<Name>Exception`, and one its model lacks (an
      // AccessDeniedException) after the SDK's base exception, `DynamoDB.AmazonDynamoDBException`.
      const name = sdkErrorNameOf(e);
      const modelled = sdkModelledErrors('dynamodb')?.has(name) || name === 'SdkClientException';
      throw integrationError(modelled ? optimizedIntegrationErrorName('DynamoDB', name) : 'DynamoDB.AmazonDynamoDBException', e);
    }
  };
}
