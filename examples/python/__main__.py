"""The chat this repository deploys, from Python: one WebSocketChat, its endpoints exported.

`pulumi package add ../..` generates the pulumi_websocket_chat SDK (in sdks/) from the
component's TypeScript types and adds it to requirements.txt. Every argument is optional; these
are some of them, at their defaults; the SDK documents them all.
"""

import pulumi
import pulumi_websocket_chat as websocket_chat

config = pulumi.Config()

chat = websocket_chat.WebSocketChat(
    "chat",
    route_selection_expression=config.get("routeSelectionExpression") or "$request.body.action",
    message_route=config.get("messageRoute") or "sendmessage",
    connection_ttl_seconds=7500,
    throttle={"burst_limit": 100, "rate_limit": 50},
    # `lambda` is a Python keyword: the SDK names the argument `lambda_`.
    lambda_={
        "runtime": "nodejs24.x",
        "architecture": websocket_chat.LambdaArchitecture.ARM64,
        "memory_size": {"message": 1769},
    },
    log_retention_days=14,
    message_rate_limit={"burst": 10, "per_second": 1},
    history={"retention_seconds": 86400, "limit": 50},
    tags={"project": "websocket-chat"},
)

# wscat -c "$(pulumi stack output url)", then {"action":"sendmessage", "data":"hello world"}
pulumi.export("url", chat.url)
pulumi.export("managementEndpoint", chat.management_endpoint)
pulumi.export("tableName", chat.table_name)
