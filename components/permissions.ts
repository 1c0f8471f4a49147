import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Grant } from "../handlers/routes";

/**
 * IAM grants, one small function per need, each the narrowest statement for it. The route table
 * (handlers/routes.ts) lists which grants each Lambda gets, by intent, so a function's whole
 * permission set reads in one place; `statementsFor` turns that list into these statements.
 */

export interface PolicyStatement {
  Effect: "Allow";
  Action: string[];
  Resource: pulumi.Input<string>;
}

/** The trust policy that lets Lambda assume a function's role. */
export const LAMBDA_ASSUME_ROLE_POLICY = JSON.stringify({
  Version: "2012-10-17",
  Statement: [
    { Effect: "Allow", Action: "sts:AssumeRole", Principal: { Service: "lambda.amazonaws.com" } },
  ],
});

/** An identity policy document holding exactly `statements`. */
export function policyDocument(statements: PolicyStatement[]): pulumi.Output<string> {
  return pulumi.jsonStringify({ Version: "2012-10-17", Statement: statements });
}

/** `$connect`: record one connection. */
export function allowPutConnection(table: aws.dynamodb.Table): PolicyStatement {
  return { Effect: "Allow", Action: ["dynamodb:PutItem"], Resource: table.arn };
}

/** `$disconnect`, and the broadcast dropping a recipient that is gone. */
export function allowDeleteConnection(table: aws.dynamodb.Table): PolicyStatement {
  return { Effect: "Allow", Action: ["dynamodb:DeleteItem"], Resource: table.arn };
}

/** Reading the sender's own record (its room, name and format), by key. */
export function allowGetConnection(table: aws.dynamodb.Table): PolicyStatement {
  return { Effect: "Allow", Action: ["dynamodb:GetItem"], Resource: table.arn };
}

/**
 * Reading one room's connections, page by page, through the room index only: no Query or Scan
 * on the table itself, so no function can list every connection of the chat.
 */
export function allowQueryRoom(table: aws.dynamodb.Table, indexName: string): PolicyStatement {
  return {
    Effect: "Allow",
    Action: ["dynamodb:Query"],
    Resource: pulumi.interpolate`${table.arn}/index/${indexName}`,
  };
}

/**
 * Reading and writing a table encrypted with a customer-managed KMS key, with that key only.
 * DynamoDB decrypts the table's own key with the caller's authority whenever the table is read
 * or written (`kms:Decrypt`); writers also get what the AWS CDK grants writers of such a table
 * (`kms:Encrypt`, `kms:GenerateDataKey`). Every function that uses the table writes to it.
 */
export function allowTableKey(keyArn: pulumi.Input<string>): PolicyStatement {
  return {
    Effect: "Allow",
    Action: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
    Resource: keyArn,
  };
}

/**
 * The message route keeping each message in its room's history under its `seq`, and claiming
 * a sender's `clientId`: conditional PutItems that never overwrite (handlers/lib/sends.ts).
 */
export function allowKeepMessage(historyTable: aws.dynamodb.Table): PolicyStatement {
  return { Effect: "Allow", Action: ["dynamodb:PutItem"], Resource: historyTable.arn };
}

/**
 * Reading a room's history: `history` replaying it and telling the room's latest `seq`, the
 * message route finding the latest `seq` and a `clientId`'s record.
 */
export function allowReadHistory(historyTable: aws.dynamodb.Table): PolicyStatement {
  return { Effect: "Allow", Action: ["dynamodb:Query"], Resource: historyTable.arn };
}

/**
 * The message route moving a room's sequence on: the room's head item (with no history kept,
 * its counter), and settling a `clientId`'s record once its message is stored.
 */
export function allowSequenceMessages(historyTable: aws.dynamodb.Table): PolicyStatement {
  return { Effect: "Allow", Action: ["dynamodb:UpdateItem"], Resource: historyTable.arn };
}

/**
 * The message route's rate limit: conditionally updating the sender's own record
 * (handlers/lib/rate-limit.ts), which it reads with `allowGetConnection`. UpdateItem could
 * create a record; the limiter's conditions never let it.
 */
export function allowUpdateRateLimit(table: aws.dynamodb.Table): PolicyStatement {
  return { Effect: "Allow", Action: ["dynamodb:UpdateItem"], Resource: table.arn };
}

/**
 * Sending messages to clients through this API's stage. The HTTP method sits in the ARN:
 * `POST` allows PostToConnection only (GetConnection and DeleteConnection would need `GET` or
 * `DELETE` there), which is all the handlers do. The trailing `*` matters: ids end in `=`.
 */
export function allowPostToConnections(
  api: aws.apigatewayv2.Api,
  stageName: pulumi.Input<string>,
): PolicyStatement {
  return {
    Effect: "Allow",
    Action: ["execute-api:ManageConnections"],
    Resource: pulumi.interpolate`${api.executionArn}/${stageName}/POST/@connections/*`,
  };
}

/**
 * Writing to the function's own log group. `LogGroup.arn` comes without the `:*` suffix, and
 * PutLogEvents is authorized against log-stream ARNs: granted on the bare group ARN, the
 * function runs fine and its logs are silently lost.
 */
export function allowWriteLogs(logGroup: aws.cloudwatch.LogGroup): PolicyStatement {
  return {
    Effect: "Allow",
    Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
    Resource: pulumi.interpolate`${logGroup.arn}:*`,
  };
}

/** What the grants are granted on: the chat's own resources. */
export interface GrantTargets {
  table: aws.dynamodb.Table;
  /** The connections table's room index. */
  roomIndex: string;
  historyTable: aws.dynamodb.Table;
  api: aws.apigatewayv2.Api;
  stageName: pulumi.Input<string>;
  /** The tables' customer-managed key; undefined: DynamoDB's own, which needs no grant. */
  kmsKeyArn?: pulumi.Input<string>;
}

const STATEMENTS: Record<Grant, (on: GrantTargets) => PolicyStatement[]> = {
  putConnection: ({ table }) => [allowPutConnection(table)],
  deleteConnection: ({ table }) => [allowDeleteConnection(table)],
  getConnection: ({ table }) => [allowGetConnection(table)],
  queryRoom: ({ table, roomIndex }) => [allowQueryRoom(table, roomIndex)],
  updateRateLimit: ({ table }) => [allowUpdateRateLimit(table)],
  keepMessage: ({ historyTable }) => [allowKeepMessage(historyTable)],
  readHistory: ({ historyTable }) => [allowReadHistory(historyTable)],
  sequenceMessages: ({ historyTable }) => [allowSequenceMessages(historyTable)],
  tableKey: ({ kmsKeyArn }) => (kmsKeyArn === undefined ? [] : [allowTableKey(kmsKeyArn)]),
  postToConnections: ({ api, stageName }) => [allowPostToConnections(api, stageName)],
};

/** The statements that allow `grants` (handlers/routes.ts) on `on`, in the same order. */
export function statementsFor(grants: readonly Grant[], on: GrantTargets): PolicyStatement[] {
  return grants.flatMap((grant) => STATEMENTS[grant](on));
}
