/**
 * The files that give a Consul container its ACL tokens at apply time. Their
 * content is a Terraform expression over references (a random_uuid's result, a
 * token's secret read by the Consul provider), so the synthesized plan holds
 * the expression and Terraform state holds the value; the rendered agent
 * configuration never does. They reach the container in its environment and its
 * entrypoint writes them to tmpfs files (env-files.ts), so the container keeps a
 * read-only root filesystem.
 */
import { Fn } from 'cdktf';
import { CONSUL_AGENT_PATHS } from './consul-agent-config';
import { EnvFile } from './env-files';

export interface ConsulAclTokens {
  /**
   * A server's initial management token (`acl.tokens.master`: Consul 1.8 reads that name, and
   * 1.11+ still reads it as `initial_management`).
   */
  readonly initialManagement?: string;
  /** The agent's own token (`acl.tokens.agent`): node registration, coordinates, anti-entropy. */
  readonly agent: string;
}

/** The variables that carry the token files (unset before Consul starts). */
export const CONSUL_TOKEN_ENV = {
  /** The agent config file with the tokens (CONSUL_AGENT_PATHS.aclTokens). */
  aclTokens: 'MCP_CONSUL_ACL_TOKENS',
  /** The agent's own token, raw (CONSUL_AGENT_PATHS.tokenFile). */
  agentToken: 'MCP_CONSUL_AGENT_TOKEN',
} as const;

/** The agent's tokens as a config file, and its own token raw for the CLI (CONSUL_HTTP_TOKEN_FILE). */
export function consulAclTokenFiles(tokens: ConsulAclTokens): EnvFile[] {
  const config = { acl: { tokens: { ...(tokens.initialManagement !== undefined ? { master: tokens.initialManagement } : {}), agent: tokens.agent } } };
  return [
    { variable: CONSUL_TOKEN_ENV.aclTokens, path: CONSUL_AGENT_PATHS.aclTokens, content: Fn.jsonencode(config) },
    { variable: CONSUL_TOKEN_ENV.agentToken, path: CONSUL_AGENT_PATHS.tokenFile, content: tokens.agent },
  ];
}
