import * as pulumi from "@pulumi/pulumi";
import { chatArgsFromConfig } from "./components/stack-config";
import { WebSocketChat } from "./components/web-socket-chat";

// Every key is optional; Pulumi.yaml documents each one and its default. Local mode reads the
// same keys through the same function, and the component checks them (components/settings.ts).
const chat = new WebSocketChat("chat", chatArgsFromConfig(new pulumi.Config()));

/** The URL clients connect to: `wscat -c "$(pulumi stack output url)"`. */
export const url = chat.url;
export const managementEndpoint = chat.managementEndpoint;
export const tableName = chat.tableName;
