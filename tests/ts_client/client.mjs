// Cross-implementation check: the official TypeScript MCP SDK client against
// dh-mcp-systems-server over streamable-http with a bearer token.
//
// Usage: MCP_BEARER_TOKEN=<token> node client.mjs <server-url> [session-id] [table-name]
//   (session id and table may also come from MCP_SESSION_ID / MCP_TABLE_NAME)
//
// The token is read from the environment only, never from argv, so it never
// appears on a command line. Prints ONE JSON object on stdout; on any failure
// prints a message on stderr and exits non-zero.
//
// Driven by tests/mcp_systems_server/test_typescript_client.py.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const CLIENT_INFO = { name: "deephaven-mcp-ts-client-test", version: "0.0.0" };

function fail(message) {
  process.stderr.write(`client.mjs: ${message}\n`);
  process.exit(1);
}

function describeError(error) {
  return {
    error_class: error?.constructor?.name ?? typeof error,
    // StreamableHTTPError carries the HTTP status in `code`; McpError a JSON-RPC code.
    error_code: error?.code ?? null,
    error_message: error instanceof Error ? error.message : String(error),
  };
}

async function authenticated(url, token, sessionId, tableName) {
  const client = new Client(CLIENT_INFO);
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  try {
    // listTools() must come first: Client.listTools() calls cacheToolMetadata(),
    // which compiles an Ajv validator for every tool's outputSchema. Client.callTool()
    // then looks the validator up (getToolOutputValidator) and validates
    // result.structuredContent against the outputSchema, throwing McpError
    // ("Structured content does not match the tool's output schema: ...") on a
    // mismatch, or if a tool with an outputSchema returns no structuredContent
    // without isError. See node_modules/@modelcontextprotocol/sdk/dist/esm/client/index.js:
    // Client.callTool, Client.cacheToolMetadata, Client.listTools (SDK 1.32.2), and
    // dist/esm/validation/ajv-provider.js for the validator.
    const { tools } = await client.listTools();
    const sessions = await client.callTool({ name: "sessions_list", arguments: {} });
    const tableData = await client.callTool({
      name: "session_table_data",
      arguments: { session_id: sessionId, table_name: tableName, max_rows: 10, format: "csv" },
    });
    return {
      server_version: client.getServerVersion() ?? null,
      tool_names: tools.map((tool) => tool.name),
      tools_with_output_schema: tools.filter((tool) => tool.outputSchema).map((tool) => tool.name),
      sessions_list: {
        isError: sessions.isError ?? false,
        structuredContent: sessions.structuredContent ?? null,
      },
      session_table_data: {
        isError: tableData.isError ?? false,
        structuredContent: tableData.structuredContent ?? null,
      },
    };
  } finally {
    await client.close();
  }
}

async function unauthenticated(url) {
  const client = new Client(CLIENT_INFO);
  const transport = new StreamableHTTPClientTransport(new URL(url));
  try {
    await client.connect(transport);
  } catch (error) {
    const described = describeError(error);
    const refused = described.error_code === 401 || /\b401\b|unauthori[sz]ed/i.test(described.error_message);
    return { connected: false, refused_401: refused, ...described };
  } finally {
    await client.close().catch(() => {});
  }
  return { connected: true, refused_401: false, error_class: null, error_code: null, error_message: null };
}

async function main() {
  const url = process.argv[2];
  if (!url) fail("usage: node client.mjs <server-url> [session-id] [table-name]");
  const token = process.env.MCP_BEARER_TOKEN;
  if (!token) fail("MCP_BEARER_TOKEN is not set");
  const sessionId = process.argv[3] ?? process.env.MCP_SESSION_ID ?? "community:config:p";
  const tableName = process.argv[4] ?? process.env.MCP_TABLE_NAME ?? "simple_people";

  const report = await authenticated(url, token, sessionId, tableName);
  report.unauthenticated = await unauthenticated(url);
  process.stdout.write(JSON.stringify(report) + "\n");
}

main().then(
  () => process.exit(0),
  (error) => {
    const { error_class, error_code, error_message } = describeError(error);
    fail(`${error_class}${error_code !== null ? ` (code ${error_code})` : ""}: ${error_message}`);
  },
);
