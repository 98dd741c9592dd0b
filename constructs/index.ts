/**
 * Public API of the package: the composite platform and each part on its own.
 */
export * from './mcp-router-platform';
export * from './consul-server';
export * from './consul-cluster';
export * from './consul-client-agent';
export * from './consul-access-control';
export * from './consul-acl-policies';
export * from './consul-acl-files';
export * from './external-mcp-servers';
export * from './router-fleet';
export * from './router-image';
export * from './haproxy-load-balancer';
export * from './demo-backend';
export * from './consul-agent-config';
export * from './docker-host';
export { PropError } from './validation';
export * from '../haproxy-templates';
