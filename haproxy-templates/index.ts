export * from './options';
export { renderHaproxyConfig, routerARecord, routerSrvRecord, STATS_HEALTH_PATH } from './render-haproxy-config';
export { HaproxyConfig } from './haproxy-config';
