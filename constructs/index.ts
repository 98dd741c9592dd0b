/**
 * Public API of the package: the composite platform and each part on its own.
 */
export * from './mcp-router-platform';
export * from './consul-server';
export * from './router-fleet';
export * from './router-auth';
export * from './router-image';
export * from './haproxy-load-balancer';
export * from './demo-backend';
export * from './consul-agent-config';
export * from './docker-host';
export { PropError } from './validation';
export * from '../haproxy-templates';
