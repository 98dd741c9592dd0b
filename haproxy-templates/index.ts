export * from './options';
export { renderHaproxyConfig, routerARecord, routerSrvRecord } from './render-haproxy-config';
export { HaproxyConfig } from './haproxy-config';
