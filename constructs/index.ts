/**
 * Public API of the package: the composite platform, each part on its own, the
 * config renderers, their props and options. Every name here is also the
 * Python module's (jsii): classes, interfaces and enums only, no free functions
 * or module constants (those are static members of a class).
 */
export { McpRouterPlatform, type McpRouterPlatformProps, type ExistingConsul, type PlatformHaproxyOptions } from './mcp-router-platform';
export { ConsulServer, type ConsulServerProps } from './consul-server';
export { ConsulCluster, type ConsulClusterProps, type ConsulClusterAclProps } from './consul-cluster';
export { ConsulClientAgent, type ConsulClientAgentProps } from './consul-client-agent';
export { ConsulAccessControl, type ConsulAccessControlProps, type ConsulAgentNodes, type SelfRegisteringMcpServer } from './consul-access-control';
export { ConsulAclPolicies } from './consul-acl-policies';
export { ExternalMcpServers, ExternalCheckType, ExternalCheckStatus, type ExternalMcpServersProps, type ExternalMcpServer, type ExternalMcpServerCheck } from './external-mcp-servers';
export { RouterFleet, type RouterFleetProps, RestartPolicy } from './router-fleet';
export { JwtAlgorithm, InternalsVisibility, RateLimitScope, type JwtAuthProps, type RateLimitProps, type RouterAuthProps } from './router-auth';
export { RouterImage, type RouterImageProps } from './router-image';
export { type ContainerSecurityProps } from './container-security';
export { HaproxyLoadBalancer, type HaproxyLoadBalancerProps } from './haproxy-load-balancer';
export { DemoBackends, type DemoBackendsProps } from './demo-backend';
export {
  ConsulAgentConfig,
  ConsulLogLevel,
  ConsulAclPolicy,
  ConsulAclDownPolicy,
  type ConsulAclOptions,
  type ResolvedConsulAclOptions,
  type ConsulAgentConfigOptions,
  type ConsulAgentSettings,
  type ConsulAgentPorts,
  type ResolvedConsulAgentConfig,
  type ResolvedConsulAgentPorts,
} from './consul-agent-config';
export { DockerHost } from './docker-host';
export {
  DeploymentTarget,
  SwarmUpdateOrder,
  SwarmFailureAction,
  SwarmRestartCondition,
  SwarmPublishMode,
  type SwarmProps,
  type SwarmUpdateProps,
  type SwarmRestartProps,
  type SwarmResourcesProps,
  type SwarmPlacementProps,
} from './swarm/swarm-options';
export { RouterService, type RouterServiceProps } from './swarm/router-service';
export { ConsulService, type ConsulServiceProps } from './swarm/consul-service';
export { HaproxyService, type HaproxyServiceProps } from './swarm/haproxy-service';
export { PropError } from './validation';
export {
  HaproxyConfig,
  HaproxyMode,
  BalanceAlgorithm,
  RetryCondition,
  HealthCheckType,
  HaproxyAccessLog,
  type HaproxyConfigOptions,
  type HaproxyRoutingOptions,
  type HaproxyTuningOptions,
  type Endpoint,
  type HealthCheckOptions,
  type PlatformHealthCheckOptions,
  type TimeoutOptions,
  type ResolvedHaproxyConfigOptions,
  type ResolvedHealthCheckOptions,
  type ResolvedTimeoutOptions,
} from '../haproxy-templates';
