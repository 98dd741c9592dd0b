/** A real MCP SDK client call to the demo backend (tools/call echo) before item 2 runs. */
export async function checkDemoBackend(url: string): Promise<void> {
  const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
  const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
  const client = new Client({ name: 'bench-check', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  try {
    const res = (await client.callTool({ name: 'echo', arguments: { text: 'check' } })) as { content: Array<{ text?: string }> };
    if (res.content?.[0]?.text !== 'check') throw new Error(`demo backend echo returned ${JSON.stringify(res).slice(0, 300)}`);
  } finally {
    await client.close();
  }
}
