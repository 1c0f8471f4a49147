// `npm run test:unit`: the fast tier, to run while you work. Every test file but those that
// bundle handlers (directly, through the component, or in a local Lambda or chat), start a child
// process (npm start, wscat, the runtime interface client) or drive a browser: those run in
// `npm test`, which runs everything. A test file is told apart by what it uses, so a new one
// lands in the right tier without a list to keep.
const fs = require("fs");
const path = require("path");
const base = require("./.mocharc.json");

const SLOW = [
  /\b(startHandler|useHandlers|writeBundle|bundleHandler|LocalLambda|startLocalChat)\b/,
  /\bWebSocketChat\b|support\/component-(mocks|package)"/,
  /support\/(processes|browser|chat-page|lambda-ric)"|"child_process"|\brunSoak\b/,
  // Amazon's DynamoDB Local runs in a Java process of its own.
  /\bdynamoLocalEndpoint\b/,
];

// DynamoDB-backed suites run on dynalite alone here (in this process); npm test adds DynamoDB
// Local (test/support/dynamo-local.ts).
process.env.CHAT_TEST_DYNALITE_ONLY = "1";

const testDir = path.resolve("test");
const spec = fs
  .readdirSync(testDir)
  .filter((name) => name.endsWith(".test.ts"))
  .filter((name) => {
    const source = fs.readFileSync(path.join(testDir, name), "utf8");
    return !SLOW.some((pattern) => pattern.test(source));
  })
  .map((name) => path.join("test", name));

module.exports = { ...base, spec };
