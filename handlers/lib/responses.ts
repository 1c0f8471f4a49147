import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";

export function respond(statusCode: number, body: string): APIGatewayProxyStructuredResultV2 {
  return { statusCode, body };
}
