/**
 * The HAProxy renderer as the package exports it: static methods and a
 * constant, the form every jsii language can call (Python has no free
 * functions of a jsii module). The work is done by resolveHaproxyConfigOptions
 * and renderHaproxyConfig.
 */
import { HAPROXY_DEFAULTS, HaproxyConfigOptions, resolveHaproxyConfigOptions, ResolvedHaproxyConfigOptions } from './options';
import { renderHaproxyConfig, routerARecord, routerSrvRecord } from './render-haproxy-config';

/** Renders haproxy.cfg for the router fleet: options in, text out. */
export class HaproxyConfig {
  /** The options the renderer uses for what is not given (`nbthread` unset). */
  public static readonly DEFAULTS: ResolvedHaproxyConfigOptions = HAPROXY_DEFAULTS;

  /** Fills in the defaults and validates; throws a PropError naming the option. */
  public static resolve(options?: HaproxyConfigOptions): ResolvedHaproxyConfigOptions {
    return resolveHaproxyConfigOptions(options);
  }

  /** haproxy.cfg for options from `resolve` (pure: the same options give the same text). */
  public static render(options: ResolvedHaproxyConfigOptions): string {
    return renderHaproxyConfig(options);
  }

  /** The router service's A record HAProxy resolves for the MCP backend, e.g. `mcp-router.service.consul`. */
  public static routerARecord(options: ResolvedHaproxyConfigOptions): string {
    return routerARecord(options);
  }

  /** The SRV name HAProxy resolves for the gRPC backend, e.g. `_mcp-router._tcp.service.consul`. */
  public static routerSrvRecord(options: ResolvedHaproxyConfigOptions): string {
    return routerSrvRecord(options);
  }

  private constructor() {}
}
