import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { randomBytes } from "crypto";
import { BUNDLE_FILE_NAME, BUNDLE_HANDLER, bundleHandler } from "../handlers/bundle";
import type { FunctionName } from "../handlers/routes";
import type { ChatFunction } from "./args";
import {
  allowWriteLogs,
  LAMBDA_ASSUME_ROLE_POLICY,
  policyDocument,
  PolicyStatement,
} from "./permissions";

/** What a chat's function is made of besides its handler module. */
export interface ChatFunctionArgs {
  /** The component's name: it starts every resource's name. */
  componentName: string;
  /** The resource the function's resources are children of (the component). */
  parent: pulumi.Resource;
  handler: FunctionName;
  /** Its grants, besides writing its own logs (which every function gets). */
  statements: PolicyStatement[];
  runtime: string;
  architecture: string;
  memorySize: number;
  timeout: number;
  environment: Record<string, pulumi.Input<string>>;
  logRetentionDays: number;
  tags: Record<string, string>;
}

/** A handler's function with its own role, inline policy and log group. */
export function createChatFunction(args: ChatFunctionArgs): ChatFunction {
  const { componentName, parent, handler, tags } = args;
  const prefix = `${componentName}-${handler}`;
  const functionName = handlerResourceName(componentName, handler);
  const logGroup = new aws.cloudwatch.LogGroup(
    `${prefix}-logs`,
    { name: `/aws/lambda/${functionName}`, retentionInDays: args.logRetentionDays, tags },
    { parent, ...KEEP_NAME },
  );
  const role = new aws.iam.Role(
    `${prefix}-role`,
    // Named as its function: an auto-name could pass IAM's 64 characters.
    { name: functionName, assumeRolePolicy: LAMBDA_ASSUME_ROLE_POLICY, tags },
    { parent, ...KEEP_NAME },
  );
  const rolePolicy = new aws.iam.RolePolicy(
    `${prefix}-policy`,
    { role: role.id, policy: policyDocument([...args.statements, allowWriteLogs(logGroup)]) },
    { parent },
  );
  const fn = new aws.lambda.Function(
    prefix,
    {
      name: functionName,
      role: role.arn,
      runtime: args.runtime,
      architectures: [args.architecture],
      memorySize: args.memorySize,
      timeout: args.timeout,
      handler: BUNDLE_HANDLER,
      code: pulumi.output(bundleHandler(handler)).apply(
        (code) =>
          new pulumi.asset.AssetArchive({
            [BUNDLE_FILE_NAME]: new pulumi.asset.StringAsset(code),
          }),
      ),
      environment: { variables: args.environment },
      loggingConfig: { logGroup: logGroup.name, logFormat: "JSON" },
      tags,
    },
    // IAM changes take a moment to propagate: create the function only once its
    // permissions exist, not merely its role.
    { parent, dependsOn: [rolePolicy], ...KEEP_NAME },
  );
  return { function: fn, role, rolePolicy, logGroup };
}

// Lambda function names and IAM role names: at most 64 of [A-Za-z0-9_-] (IAM takes more
// characters, Lambda no more).
const HANDLER_RESOURCE_NAME_LENGTH = 64;

/**
 * The name of a handler's function, its role and (after `/aws/lambda/`) its log group:
 * `<component>-<handler>-<8 random hex digits>`, within Lambda's and IAM's 64 characters for any
 * component name (a long one is shortened). IAM role names are unique per account, function and
 * log group names per account and region, but stack names only per Pulumi organization or
 * backend: names made of the project, stack and component alone collide when two people deploy
 * the same stack name into one account, or one person deploys it to two regions
 * (EntityAlreadyExists). 32 random bits do not. The name is drawn at every run and kept at its
 * first value by KEEP_NAME, as Pulumi keeps an auto-name, so it never changes once deployed; a
 * stack deployed under the earlier names keeps them, nothing replaced. Chosen here rather than
 * auto-named by Pulumi, whose auto-name of `<component>-<handler>-role` would pass IAM's limit
 * for component names over 40 characters.
 */
function handlerResourceName(componentName: string, handler: FunctionName): string {
  const suffix = `-${handler}-${randomBytes(4).toString("hex")}`;
  return componentName.slice(0, HANDLER_RESOURCE_NAME_LENGTH - suffix.length) + suffix;
}

/** For a resource named by `handlerResourceName`: the name it was created with stays. */
const KEEP_NAME = { ignoreChanges: ["name"] };
