import * as pulumi from "@pulumi/pulumi";
import { chatArgsFromStackConfig } from "./components/stack-config";
import { WebSocketChat } from "./components/web-socket-chat";

// Every key is optional; Pulumi.yaml documents each one and its default. Local mode reads the
// same keys through the same function, and the component checks them (components/settings.ts).
const chat = new WebSocketChat("chat", chatArgsFromStackConfig(new pulumi.Config()));

/** The URL clients connect to: `wscat -c "$(pulumi stack output url)"`. */
export const url = chat.url;
export const managementEndpoint = chat.managementEndpoint;
export const connectionsTableName = chat.connectionsTableName;
/** The connections table's name, as `connectionsTableName`: kept for scripts that read it. */
export const tableName = chat.connectionsTableName;
