import * as pulumi from "@pulumi/pulumi";
import { PROMPTLY_MS, within } from "./within";

/**
 * Pulumi mocks for the component tests: they record every resource the program registers
 * (type, name, inputs, parent, and the resources it was made to depend on) and answer with the
 * outputs AWS would, so that ARNs and URLs built from them look real.
 *
 * Pulumi's runtime state is global and mocha runs every test file in one process: call
 * `startProgram()` at the start of each test and `finishProgram()` before asserting, so each
 * test sees only its own resources and leaves nothing running.
 */

export const PROJECT = "websocket-chat";
export const STACK = "dev";
export const REGION = "ap-northeast-1";
export const ACCOUNT = "123456789012";

/** Where a mock program deploys: the region decides the partition and its DNS suffix. */
export interface MockRegion {
  region: string;
  /** The ARN partition: `aws`, `aws-cn`, `aws-us-gov`. */
  partition: string;
  /** Service host names end in this: `amazonaws.com`, `amazonaws.com.cn` in China. */
  dnsSuffix: string;
}

export function mockRegion(region: string): MockRegion {
  if (region.startsWith("cn-"))
    return { region, partition: "aws-cn", dnsSuffix: "amazonaws.com.cn" };
  if (region.startsWith("us-gov-"))
    return { region, partition: "aws-us-gov", dnsSuffix: "amazonaws.com" };
  return { region, partition: "aws", dnsSuffix: "amazonaws.com" };
}

export interface RecordedResource {
  type: string;
  name: string;
  inputs: Record<string, any>;
  /**
   * The inputs as the SDK sent them to the engine, secrets still wrapped: a secret value is
   * `{ [SECRET_SIGNATURE_KEY]: SECRET_SIGNATURE, value }`.
   */
  wireInputs: Record<string, any>;
  /** Names of the resources this one depends on, explicitly or through its inputs. */
  dependsOn: string[];
  /** Name of the parent resource. */
  parent?: string;
  /** The types this resource was once registered under (its aliases that change the type). */
  aliasTypes: string[];
  /** The inputs a deployed resource keeps at their first values (`ignoreChanges`). */
  ignoreChanges: string[];
  /** Its URN, as the engine names it (`urnOf`). */
  urn: string;
  /** Its aliases as the SDK sent them: specs, fields left unset meaning "as now". */
  aliases: AliasSpec[];
}

/** One alias as registered (pulumi/alias.proto's `Alias.Spec`); unset fields are undefined. */
export interface AliasSpec {
  name?: string;
  type?: string;
  stack?: string;
  project?: string;
  parentUrn?: string;
  noParent?: boolean;
}

/**
 * The URN of a resource named `name` of type `type` under the parent whose URN is `parentUrn`,
 * by the SDK's own rule (createUrn, sdk/nodejs/resource.ts): the parent's qualified type, `$`,
 * the resource's type; the root stack's type is no prefix. The mock monitor keeps only the
 * parent's last type, so the record computes URNs itself.
 */
export function urnOf(
  name: string,
  type: string,
  parentUrn?: string,
  stack = STACK,
  project = PROJECT,
): string {
  const root = `urn:pulumi:${stack}::${project}::`;
  let prefix = root;
  if (parentUrn) {
    prefix = parentUrn.substring(0, parentUrn.lastIndexOf("::")) + "$";
    if (prefix.endsWith("::pulumi:pulumi:Stack$")) prefix = root;
  }
  return `${prefix}${type}::${name}`;
}

export class ProgramRecord {
  readonly resources: RecordedResource[] = [];
  /** The tokens of the provider functions the program called (`aws:index/getRegion:getRegion`). */
  readonly invokes: string[] = [];

  ofType(type: string): RecordedResource[] {
    return this.resources.filter((r) => r.type === type);
  }

  named(name: string): RecordedResource {
    const found = this.resources.filter((r) => r.name === name);
    if (found.length !== 1)
      throw new Error(`expected one resource named ${name}, found ${found.length}`);
    return found[0];
  }
}

export const TYPES = {
  api: "aws:apigatewayv2/api:Api",
  stage: "aws:apigatewayv2/stage:Stage",
  route: "aws:apigatewayv2/route:Route",
  integration: "aws:apigatewayv2/integration:Integration",
  deployment: "aws:apigatewayv2/deployment:Deployment",
  table: "aws:dynamodb/table:Table",
  function: "aws:lambda/function:Function",
  permission: "aws:lambda/permission:Permission",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  authorizer: "aws:apigatewayv2/authorizer:Authorizer",
  component: "websocket-chat:index:WebSocketChat",
} as const;

/** What AWS would report for a created resource, from its logical name and inputs. */
function awsState(
  { region, partition, dnsSuffix }: MockRegion,
  type: string,
  name: string,
  inputs: Record<string, any>,
): { id: string; state: Record<string, any> } {
  const id = `${name}-id`;
  switch (type) {
    case TYPES.api:
      return {
        id,
        state: {
          ...inputs,
          // As the provider reports a WEBSOCKET API's: scheme, host, no path.
          apiEndpoint: `wss://${id}.execute-api.${region}.${dnsSuffix}`,
          executionArn: `arn:${partition}:execute-api:${region}:${ACCOUNT}:${id}`,
        },
      };
    case TYPES.stage:
      return {
        id: inputs.name,
        state: {
          ...inputs,
          invokeUrl: `wss://${inputs.apiId}.execute-api.${region}.${dnsSuffix}/${inputs.name}`,
          executionArn: `arn:${partition}:execute-api:${region}:${ACCOUNT}:${inputs.apiId}/${inputs.name}`,
        },
      };
    case TYPES.table: {
      const tableName = inputs.name ?? `${name}-7f3a2b1`; // Pulumi's auto-naming
      return {
        id: tableName,
        state: {
          ...inputs,
          name: tableName,
          arn: `arn:${partition}:dynamodb:${region}:${ACCOUNT}:table/${tableName}`,
        },
      };
    }
    case TYPES.logGroup:
      // As the provider reports it: without the `:*` suffix.
      return {
        id: inputs.name,
        state: {
          ...inputs,
          arn: `arn:${partition}:logs:${region}:${ACCOUNT}:log-group:${inputs.name}`,
        },
      };
    case TYPES.role: {
      const roleName = inputs.name ?? `${name}-9c8d7e6`;
      return {
        id: roleName,
        state: {
          ...inputs,
          name: roleName,
          arn: `arn:${partition}:iam::${ACCOUNT}:role/${roleName}`,
        },
      };
    }
    case TYPES.function: {
      const arn = `arn:${partition}:lambda:${region}:${ACCOUNT}:function:${inputs.name}`;
      const invokeArn = `arn:${partition}:apigateway:${region}:lambda:path/2015-03-31/functions/${arn}/invocations`;
      return { id: inputs.name, state: { ...inputs, arn, invokeArn } };
    }
    default:
      return { id, state: { ...inputs } };
  }
}

function nameOf(urn: string): string {
  return urn.split("::").pop()!;
}

/**
 * Points Pulumi at fresh mocks; every resource registered from now on lands in the returned
 * record. Resources report ARNs and URLs of `region`'s partition.
 */
export async function startProgram(
  config: Record<string, string> = {},
  stack = STACK,
  region = REGION,
  /** Config keys that are secrets (`pulumi config set --secret`). */
  secretKeys: string[] = [],
  project = PROJECT,
): Promise<ProgramRecord> {
  const where = mockRegion(region);
  const record = new ProgramRecord();
  const pending = new Map<string, RecordedResource>();
  const byName = new Map<string, RecordedResource>();
  const transformsOf = new Map<string, pulumi.ResourceTransform[]>();
  await pulumi.runtime.setMocks(
    {
      async newResource({ type, name, inputs: given, custom, transforms = [] }) {
        const resource = pending.get(`${type}::${name}`);
        // As the engine does, and the mock monitor does not: a resource's transforms, then its
        // ancestors' (a component's `transforms` reach its children), change its inputs.
        transformsOf.set(name, transforms);
        let inputs = given;
        for (let at = resource; at; at = at.parent ? byName.get(at.parent) : undefined) {
          for (const transform of transformsOf.get(at.name) ?? []) {
            const result = await transform({
              type,
              name,
              custom: custom ?? false,
              props: inputs,
              opts: {},
            });
            if (result) inputs = result.props;
          }
        }
        if (resource) resource.inputs = inputs;
        return awsState(where, type, name, inputs);
      },
      call({ token }) {
        if (token === "aws:index/getRegion:getRegion") {
          record.invokes.push(token);
          return { region, name: region, id: region, endpoint: `ec2.${region}.${where.dnsSuffix}` };
        }
        if (token === "aws:index/getCallerIdentity:getCallerIdentity") {
          record.invokes.push(token);
          return {
            accountId: ACCOUNT,
            arn: `arn:${where.partition}:iam::${ACCOUNT}:user/test`,
            userId: "AIDTEST",
            id: ACCOUNT,
          };
        }
        throw new Error(`unexpected invoke ${token}`);
      },
    },
    project,
    stack,
    false,
  );
  pulumi.runtime.setAllConfig(config, secretKeys);

  // The mock API hands newResource neither dependencies nor parent: read them off the
  // registration request the SDK sends to the (mock) engine.
  const monitor = pulumi.runtime.getMonitor() as any;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, callback: unknown) => {
    const parentUrn: string = req.getParent();
    const parentName = parentUrn ? nameOf(parentUrn) : undefined;
    // The mock's parent URN is short of the parent's qualified type: take the recorded one.
    const parentType = parentUrn ? parentUrn.split("::")[2].split("$").pop() : undefined;
    const parentRecord = record.resources.find(
      (r) => r.name === parentName && r.type === parentType,
    );
    const aliases: AliasSpec[] = (req.getAliasesList() as any[]).flatMap((alias) => {
      const spec = alias.getSpec();
      if (!spec) return [];
      return [
        {
          name: spec.getName() || undefined,
          type: spec.getType() || undefined,
          stack: spec.getStack() || undefined,
          project: spec.getProject() || undefined,
          parentUrn: spec.getParenturn() || undefined,
          noParent: spec.getNoparent() || undefined,
        },
      ];
    });
    const resource: RecordedResource = {
      type: req.getType(),
      name: req.getName(),
      inputs: {},
      wireInputs: req.getObject()?.toJavaScript() ?? {},
      dependsOn: (req.getDependenciesList() as string[]).map(nameOf),
      parent: req.getParent() ? nameOf(req.getParent()) : undefined,
      aliasTypes: (req.getAliasesList() as any[])
        .map((alias) => alias.getSpec()?.getType())
        .filter((type): type is string => Boolean(type)),
      ignoreChanges: req.getIgnorechangesList() as string[],
      urn: urnOf(
        req.getName(),
        req.getType(),
        parentRecord?.urn ?? (parentUrn || undefined),
        stack,
      ),
      aliases,
    };
    record.resources.push(resource);
    pending.set(`${resource.type}::${resource.name}`, resource);
    byName.set(resource.name, resource);
    return register(req, callback);
  };
  return record;
}

/** How the SDK marks a secret value on the wire (sdk/nodejs/runtime/rpc.ts). */
export const SECRET_SIGNATURE_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270";

/** Waits until every resource the program started has been registered, then detaches the mocks. */
export async function finishProgram(): Promise<void> {
  await pulumi.runtime.disconnect();
}

/** The value of an output, once known; an output that never becomes known fails the test. */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return within(PROMPTLY_MS, "an output's value", new Promise((resolve) => output.apply(resolve)));
}
