export * from './options';
export { renderHaproxyConfig, routerSrvRecord } from './render-haproxy-config';
