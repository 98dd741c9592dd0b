/**
 * The files that give a Consul container its ACL tokens at apply time. Their
 * content is a Terraform expression over references (a random_uuid's result, a
 * token's secret read by the Consul provider), so the synthesized plan holds
 * the expression and Terraform state holds the value; the rendered agent
 * configuration never does.
 */
import type { ContainerUpload } from '@cdktf/provider-docker/lib/container';
import { Fn } from 'cdktf';
import { CONSUL_AGENT_PATHS } from './consul-agent-config';

export interface ConsulAclTokens {
  /**
   * A server's initial management token (`acl.tokens.master`: Consul 1.8 reads that name, and
   * 1.11+ still reads it as `initial_management`).
   */
  readonly initialManagement?: string;
  /** The agent's own token (`acl.tokens.agent`): node registration, coordinates, anti-entropy. */
  readonly agent: string;
}

/** Upload blocks: the agent's tokens as a config file, and its own token raw for the CLI. */
export function consulAclTokensFile(tokens: ConsulAclTokens): ContainerUpload[] {
  const config = { acl: { tokens: { ...(tokens.initialManagement !== undefined ? { master: tokens.initialManagement } : {}), agent: tokens.agent } } };
  return [
    { file: CONSUL_AGENT_PATHS.aclTokens, content: Fn.jsonencode(config) },
    { file: CONSUL_AGENT_PATHS.tokenFile, content: tokens.agent },
  ];
}
