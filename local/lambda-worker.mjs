// One Lambda execution environment: a bundled handler in a worker thread of its own, with the
// environment its function would have on AWS, running one invocation at a time. Plain
// JavaScript: it runs the deployable bundle as-is, with no TypeScript loader.
import { registerHooks } from "node:module";
import { parentPort, workerData } from "node:worker_threads";

const { source, bundleUrl, functionName } = workerData;

// The bundle's text comes from the parent, so nothing needs to stay on disk; it still loads
// under its file URL, which is what the bundle's `createRequire(import.meta.url)` needs.
registerHooks({
  resolve: (specifier, context, nextResolve) =>
    specifier === bundleUrl
      ? { url: bundleUrl, format: "module", shortCircuit: true }
      : nextResolve(specifier, context),
  load: (url, context, nextLoad) =>
    url === bundleUrl ? { format: "module", source, shortCircuit: true } : nextLoad(url, context),
});

const module = await import(bundleUrl);
if (typeof module.handler !== "function") {
  throw new Error(`${functionName}: the bundle exports no handler function`);
}

parentPort.on("message", async ({ id, event, deadline }) => {
  const context = {
    functionName,
    functionVersion: "$LATEST",
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: id,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    const result = await module.handler(event, context);
    parentPort.postMessage({ id, result });
  } catch (err) {
    const error =
      err instanceof Error
        ? { name: err.name, message: err.message, stack: err.stack }
        : { name: "Error", message: String(err) };
    parentPort.postMessage({ id, error });
  }
});
parentPort.postMessage({ ready: true });
