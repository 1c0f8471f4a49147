import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";

export function respond(
  statusCode: number,
  body: string,
  headers?: Record<string, string>,
): APIGatewayProxyStructuredResultV2 {
  return headers ? { statusCode, headers, body } : { statusCode, body };
}
