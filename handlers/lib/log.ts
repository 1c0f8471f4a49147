/** One JSON object per event worth logging. Never pass message bodies or secrets. */
export function logInfo(event: string, fields: Record<string, unknown> = {}): void {
  console.log(entry(event, fields));
}

export function logError(event: string, fields: Record<string, unknown> = {}): void {
  console.error(entry(event, fields));
}

/** The parts of an error that are safe and useful to log. */
export function describeError(err: unknown): { errorName: string; errorMessage: string } {
  if (err instanceof Error) return { errorName: err.name, errorMessage: err.message };
  return { errorName: "NonError", errorMessage: String(err) };
}

// With the JSON log format (the component sets it), Lambda's runtime nests a single object
// argument as the record's `message`, where a string would be escaped into one opaque value.
// Anywhere else (local mode, the text format) a line of JSON text is what reads best.
function entry(event: string, fields: Record<string, unknown>): Record<string, unknown> | string {
  const record = { event, ...fields };
  return process.env.AWS_LAMBDA_LOG_FORMAT?.toUpperCase() === "JSON"
    ? record
    : JSON.stringify(record);
}
