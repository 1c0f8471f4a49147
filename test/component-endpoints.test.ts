import { strict as assert } from "assert";
import { WebSocketChat } from "../components/web-socket-chat";
import { HANDLER_NAMES } from "../handlers/routes";
import {
  ACCOUNT,
  finishProgram,
  ProgramRecord,
  startProgram,
  valueOf,
} from "./support/component-mocks";

/** Each region's own URL shape: China's partition has its own DNS suffix and ARN partition. */
const REGIONS = [
  { region: "ap-northeast-1", host: "execute-api.ap-northeast-1.amazonaws.com", partition: "aws" },
  { region: "cn-north-1", host: "execute-api.cn-north-1.amazonaws.com.cn", partition: "aws-cn" },
  {
    region: "us-gov-west-1",
    host: "execute-api.us-gov-west-1.amazonaws.com",
    partition: "aws-us-gov",
  },
];

describe("WebSocketChat component: URLs from the API and the stage", () => {
  for (const { region, host, partition } of REGIONS) {
    describe(`in ${region}`, () => {
      let record: ProgramRecord;
      let chat: WebSocketChat;

      before(async () => {
        record = await startProgram({}, "dev", region);
        chat = new WebSocketChat("chat", { stageName: "live" });
        await finishProgram();
      });

      it("exports the stage's invokeUrl as url and the same host over https as managementEndpoint", async () => {
        assert.equal(await valueOf(chat.url), `wss://chat-api-id.${host}/live`);
        assert.equal(await valueOf(chat.managementEndpoint), `https://chat-api-id.${host}/live`);
      });

      it("tells every function that same management endpoint", () => {
        const endpoint = `https://chat-api-id.${host}/live`;
        for (const handler of HANDLER_NAMES) {
          assert.equal(
            record.named(`chat-${handler}`).inputs.environment.variables.MANAGEMENT_ENDPOINT,
            endpoint,
            handler,
          );
        }
      });

      it("looks up no region: the API's endpoint already knows it, and its partition", () => {
        assert.deepEqual(record.invokes, []);
      });

      it("builds the functions' endpoint without the stage, which waits for every route and so for every function", () => {
        for (const handler of HANDLER_NAMES) {
          const fn = record.named(`chat-${handler}`);
          assert.ok(!fn.dependsOn.includes("chat-stage"), handler);
          assert.ok(fn.dependsOn.includes("chat-api"), handler);
        }
      });

      it("grants posting on the API's execution ARN of this partition", () => {
        const policy = JSON.parse(record.named("chat-message-policy").inputs.policy);
        const posting = policy.Statement.find((s: { Action: string[] }) =>
          s.Action.includes("execute-api:ManageConnections"),
        );
        assert.equal(
          posting.Resource,
          `arn:${partition}:execute-api:${region}:${ACCOUNT}:chat-api-id/live/POST/@connections/*`,
        );
      });
    });
  }
});
