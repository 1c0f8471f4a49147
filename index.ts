import * as pulumi from "@pulumi/pulumi";
import { WebSocketChat } from "./components/web-socket-chat";

// Every key is optional; Pulumi.yaml documents each one and its default.
const config = new pulumi.Config();

const chat = new WebSocketChat("chat", {
  // "" (Pulumi.yaml's default) means the stack name.
  stageName: config.get("stageName") || undefined,
  routeSelectionExpression: config.get("routeSelectionExpression"),
  messageRoute: config.get("messageRoute"),
  connectionTtlSeconds: config.getNumber("connectionTtlSeconds", { min: 1 }),
  throttle: {
    burstLimit: config.getNumber("throttleBurstLimit", { min: 1 }),
    rateLimit: config.getNumber("throttleRateLimit"),
  },
  lambda: {
    runtime: config.get("lambdaRuntime"),
    architecture: config.get("lambdaArchitecture", { allowedValues: ["arm64", "x86_64"] }),
    memorySize: { message: config.getNumber("lambdaMemorySize", { min: 128, max: 10240 }) },
  },
  logRetentionDays: config.getNumber("logRetentionDays"),
});

/** The URL clients connect to: `wscat -c "$(pulumi stack output url)"`. */
export const url = chat.url;
export const managementEndpoint = chat.managementEndpoint;
export const tableName = chat.tableName;
