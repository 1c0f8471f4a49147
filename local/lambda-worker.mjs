// Hosts one bundled Lambda handler in a worker thread, with the environment its function would
// have on AWS. Plain JavaScript: it runs the deployable bundle as-is, with no TypeScript loader.
import { parentPort, workerData } from "node:worker_threads";
import { pathToFileURL } from "node:url";

const { bundlePath, functionName, timeoutMs } = workerData;
const module = await import(pathToFileURL(bundlePath).href);

parentPort.on("message", async ({ id, event }) => {
  const deadline = Date.now() + timeoutMs;
  const context = {
    functionName,
    awsRequestId: `${functionName}-${id}`,
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
